"""A BIG-IP iControl REST simulator (`bigip-lbaas sim`).

Independent of the rest of the package: it imports nothing from `engine`, `device`, `db`,
`agent` or `api`, so the agent's client and the simulator cannot share a misunderstanding.
Entry points: `bigip_lbaas.sim.server` (CLI contract), `bigip_lbaas.sim.testing`
(in-process helper for tests), `python -m bigip_lbaas.sim`.
"""
