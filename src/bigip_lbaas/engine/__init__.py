"""The pure configuration engine: names, render, normalise, diff and plan.

Nothing here performs I/O or imports an I/O library (httpx, sqlalchemy, asyncio);
the thin shell that talks to devices lives in ``bigip_lbaas.device``.
"""
