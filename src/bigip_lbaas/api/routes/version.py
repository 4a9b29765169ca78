"""Version discovery (unauthenticated): `/` as Octavia, and real documents at `/v2`, `/v2.0`.

Octavia answers `/v2` with the bare string "v2", which breaks keystoneauth's discovery when a
client's endpoint points at `/v2`; we return a version document there instead.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from bigip_lbaas.api.state import host_url, state

router = APIRouter(tags=["versions"])

# Feature markers as Octavia lists them; the oldest and the newest carry their real dates.
VERSIONS = (("v2.0", "SUPPORTED", "2016-12-11T00:00:00Z"),
            ("v2.30", "CURRENT", "2025-02-26T00:00:00Z"))


def _entry(request: Request, vid: str, status: str, updated: str) -> dict[str, Any]:
    return {"id": vid, "status": status, "updated": updated,
            "links": [{"href": host_url(request) + "v2", "rel": "self"}]}


@router.get("/")
def versions(request: Request) -> JSONResponse:
    return JSONResponse({"versions": [_entry(request, *v) for v in VERSIONS]})


@router.get("/v2")
@router.get("/v2/")
@router.get("/v2.0")
@router.get("/v2.0/")
def version(request: Request) -> JSONResponse:
    return JSONResponse({"version": _entry(request, *VERSIONS[-1])})


@router.get("/healthcheck")
def healthcheck(request: Request) -> JSONResponse:
    st = state(request)
    try:
        st.db.clock()
    except Exception:
        return JSONResponse({"status": "DATABASE UNAVAILABLE"}, status_code=503)
    return JSONResponse({"status": "OK"})
