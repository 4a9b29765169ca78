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

# Octavia's feature markers as its root controller lists them (octavia 19.0.0), oldest first; the
# newest is CURRENT, the rest SUPPORTED. The dates are Octavia's, v2.7's out-of-order one included.
VERSION_DATES = (
    ("v2.0", "2016-12-11T00:00:00Z"), ("v2.1", "2018-04-20T00:00:00Z"),
    ("v2.2", "2018-07-31T00:00:00Z"), ("v2.3", "2018-12-18T00:00:00Z"),
    ("v2.4", "2018-12-19T00:00:00Z"),  # amphora statistics
    ("v2.5", "2019-01-21T00:00:00Z"),  # tags
    ("v2.6", "2019-01-25T00:00:00Z"),  # flavors
    ("v2.7", "2018-01-25T12:00:00Z"),  # amphora config update
    ("v2.8", "2019-02-12T00:00:00Z"),  # TLS client authentication
    ("v2.9", "2019-03-04T00:00:00Z"),  # HTTP redirect code
    ("v2.10", "2019-03-05T00:00:00Z"),  # health monitor host header
    ("v2.11", "2019-06-24T00:00:00Z"),  # additive member batch update
    ("v2.12", "2019-09-11T00:00:00Z"),  # VIP ACL (allowed_cidrs)
    ("v2.13", "2019-09-13T00:00:00Z"),  # SOURCE_IP_PORT
    ("v2.14", "2019-11-10T00:00:00Z"),  # availability zones
    ("v2.15", "2020-03-10T00:00:00Z"),  # TLS cipher options
    ("v2.16", "2020-03-15T00:00:00Z"),  # UDP health check types
    ("v2.17", "2020-04-29T00:00:00Z"),  # listener TLS versions
    ("v2.18", "2020-04-29T01:00:00Z"),  # pool TLS versions
    ("v2.19", "2020-05-12T00:00:00Z"),  # l7policy and l7rule quotas
    ("v2.20", "2020-08-02T00:00:00Z"),  # listener ALPN
    ("v2.21", "2020-09-03T00:00:00Z"),  # amphora delete
    ("v2.22", "2020-09-04T00:00:00Z"),  # PROXYV2 pools
    ("v2.23", "2020-09-07T00:00:00Z"),  # SCTP
    ("v2.24", "2020-10-15T00:00:00Z"),  # pool ALPN
    ("v2.25", "2021-10-02T00:00:00Z"),  # PROMETHEUS listeners
    ("v2.26", "2022-08-29T00:00:00Z"),  # additional VIPs
    ("v2.27", "2023-05-05T00:00:00Z"),  # HSTS
    ("v2.28", "2023-11-08T00:00:00Z"),  # VIP vnic_type
    ("v2.29", "2024-10-15T00:00:00Z"),  # VIP security groups
    ("v2.30", "2025-02-26T00:00:00Z"),  # member SR-IOV
)
VERSIONS = tuple((vid, "CURRENT" if i == len(VERSION_DATES) - 1 else "SUPPORTED", updated)
                 for i, (vid, updated) in enumerate(VERSION_DATES))


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
