"""Providers, flavor profiles, flavors (writes admin-only) and availability zones (none yet)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bigip_lbaas.api.errors import (
    InUse,
    InvalidParams,
    NotFound,
    ProviderNotImplemented,
    UnknownProvider,
    ValidationFailure,
)
from bigip_lbaas.api.handlers import env, no_content, respond
from bigip_lbaas.api.schemas.catalog import (
    AvailabilityZoneProfilesRootResponse,
    AvailabilityZonesRootResponse,
    CapabilitiesRootResponse,
    FlavorProfileRootPOST,
    FlavorProfileRootPUT,
    FlavorProfileRootResponse,
    FlavorProfilesRootResponse,
    FlavorRootPOST,
    FlavorRootPUT,
    FlavorRootResponse,
    FlavorsRootResponse,
    ProvidersRootResponse,
)
from bigip_lbaas.api.schemas.common import fault_responses
from bigip_lbaas.api.state import AppState
from bigip_lbaas.db import models as m

router = APIRouter(tags=["catalog"])

FLAVOR_CAPABILITIES = {"environment": "The environment (environment_prefix) whose agents serve "
                                       "load balancers of this flavor."}
# Wire names per catalog table, in response order; each is also an allowed filter.
TABLES: dict[str, tuple[type[Any], tuple[str, ...]]] = {
    "flavorprofile": (m.FlavorProfile, ("id", "name", "provider_name", "flavor_data")),
    "flavor": (m.Flavor, ("id", "name", "description", "enabled", "flavor_profile_id")),
}


def _fields(request: Request) -> list[str]:
    """The repeatable `fields` parameter (each may also be a comma list)."""
    return [f for v in request.query_params.getlist("fields") for f in v.split(",") if f]


def _selected(request: Request, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Octavia's _filter_fields: with `fields`, only the attributes named (others ignored)."""
    fields = _fields(request)
    return [{k: v for k, v in b.items() if k in fields} for b in bodies] if fields else bodies


def _capabilities(request: Request, capabilities: dict[str, str]) -> list[dict[str, Any]]:
    """A provider's capabilities as Octavia lists them: `name` and `description` filters, then
    `fields`."""
    name, description = request.query_params.get("name"), request.query_params.get("description")
    return _selected(request, [
        {"name": k, "description": v} for k, v in capabilities.items()
        if (not name or k == name) and (not description or v == description)])


@router.get("/providers", response_model=ProvidersRootResponse,
            responses=fault_responses(401, 403))
def list_providers(request: Request) -> JSONResponse:
    st, _ = env(request)
    return respond(200, {"providers": _selected(request, [
        {"name": p.name, "description": p.description}
        for p in sorted(st.providers.by_name.values(), key=lambda p: p.name)])})


def _provider(st: AppState, name: str) -> None:
    if st.providers.get(name) is None or name not in st.providers.by_name:
        raise UnknownProvider(name=name, known=", ".join(st.providers.names()))


@router.get("/providers/{provider}/flavor_capabilities",
            response_model=CapabilitiesRootResponse, responses=fault_responses(400, 401, 403))
def flavor_capabilities(request: Request, provider: str) -> JSONResponse:
    st, _ = env(request)
    _provider(st, provider)
    return respond(200, {"flavor_capabilities": _capabilities(request, FLAVOR_CAPABILITIES)})


@router.get("/providers/{provider}/availability_zone_capabilities", response_model=None,
            status_code=501, responses=fault_responses(400, 401, 403, 501))
def availability_zone_capabilities(request: Request, provider: str) -> JSONResponse:
    """This provider takes no availability zone metadata (there are no availability zone
    profiles here, and a load balancer's `availability_zone` is refused), so it answers as
    Octavia does for a driver whose get_supported_availability_zone_metadata is not
    implemented: 501."""
    st, _ = env(request)
    _provider(st, provider)
    raise ProviderNotImplemented(
        prov=provider, detail="This provider does not support availability zones: its load "
                              "balancers are placed by environment, through flavors.")


def _wire(key: str, row: Any) -> dict[str, Any]:
    body = {attr: getattr(row, attr) for attr in TABLES[key][1]}
    if "description" in body and body["description"] is None:
        body["description"] = ""
    return body


def _sort_order(request: Request, model: Any, attrs: Sequence[str]) -> list[Any]:
    q = request.query_params
    if q.get("sort"):
        pairs = [(p.partition(":")[0], p.partition(":")[2] or "asc")
                 for p in q["sort"].split(",") if p]
    elif q.get("sort_key"):
        keys, dirs = q["sort_key"].split(","), q.get("sort_dir", "asc").split(",")
        pairs = [(k, dirs[i] if i < len(dirs) else dirs[-1]) for i, k in enumerate(keys)]
    else:
        return []
    order = []
    for name, direction in pairs:
        if name not in attrs or direction.lower() not in ("asc", "desc"):
            raise InvalidParams()
        col = getattr(model, name)
        order.append(col.desc() if direction.lower() == "desc" else col.asc())
    return order


def _list(request: Request, key: str, plural: str) -> JSONResponse:
    st, _ = env(request)
    model, attrs = TABLES[key]
    fields = _fields(request)
    # Octavia sorts by its default keys (created_at, id) where the table has them: by id here,
    # after any `sort=key[:dir],...` (or `sort_key`/`sort_dir`) the request names.
    stmt = sa.select(model).order_by(*_sort_order(request, model, attrs), model.id)
    for name, value in request.query_params.multi_items():
        if name in ("fields", "limit", "marker", "page_reverse", "sort", "sort_key", "sort_dir"):
            continue
        if name not in attrs:
            raise InvalidParams()
        col = getattr(model, name)
        stmt = stmt.where(col == (value.lower() in ("true", "1")) if name == "enabled"
                          else col == value)
    if any(f not in attrs for f in fields):
        raise InvalidParams()

    def fn(session: Session) -> list[dict[str, Any]]:
        bodies = [_wire(key, r) for r in session.scalars(stmt)]
        return [{k: v for k, v in b.items() if k in fields} if fields else b for b in bodies]

    return respond(200, {plural: st.read(fn), f"{plural}_links": []})


def _show(request: Request, key: str, obj_id: str, label: str) -> JSONResponse:
    st, _ = env(request)
    model = TABLES[key][0]

    def fn(session: Session) -> dict[str, Any]:
        row = session.get(model, obj_id)
        if row is None:
            raise NotFound(resource=label, id=obj_id)
        return _selected(request, [_wire(key, row)])[0]

    return respond(200, {key: st.read(fn)})


def _json_object(data: str) -> None:
    try:
        parsed = json.loads(data)
    except ValueError as err:
        raise ValidationFailure(detail="flavor_data must be a JSON object.") from err
    if not isinstance(parsed, dict):
        raise ValidationFailure(detail="flavor_data must be a JSON object.")


@router.get("/flavorprofiles", response_model=FlavorProfilesRootResponse,
            responses=fault_responses(400, 401, 403))
def list_flavorprofiles(request: Request) -> JSONResponse:
    env(request)[1].require_admin()
    return _list(request, "flavorprofile", "flavorprofiles")


@router.get("/flavorprofiles/{flavorprofile_id}", response_model=FlavorProfileRootResponse,
            responses=fault_responses(401, 403, 404))
def show_flavorprofile(request: Request, flavorprofile_id: str) -> JSONResponse:
    env(request)[1].require_admin()
    return _show(request, "flavorprofile", flavorprofile_id, "Flavor profile")


@router.post("/flavorprofiles", status_code=201, response_model=FlavorProfileRootResponse,
             responses=fault_responses(400, 401, 403))
def create_flavorprofile(request: Request, body: FlavorProfileRootPOST) -> JSONResponse:
    st, ctx = env(request)
    ctx.require_admin()
    spec = body.flavorprofile
    _provider(st, spec.provider_name)
    _json_object(spec.flavor_data)

    def fn(session: Session) -> dict[str, Any]:
        row = m.FlavorProfile(id=str(uuid.uuid4()), **spec.model_dump())
        session.add(row)
        session.flush()
        return _wire("flavorprofile", row)

    return respond(201, {"flavorprofile": st.write(fn)})


@router.put("/flavorprofiles/{flavorprofile_id}", response_model=FlavorProfileRootResponse,
            responses=fault_responses(400, 401, 403, 404))
def update_flavorprofile(request: Request, flavorprofile_id: str,
                         body: FlavorProfileRootPUT) -> JSONResponse:
    st, ctx = env(request)
    ctx.require_admin()
    changes = {k: v for k, v in body.flavorprofile.model_dump(exclude_unset=True).items()
               if v is not None}
    if "provider_name" in changes:
        _provider(st, changes["provider_name"])
    if "flavor_data" in changes:
        _json_object(changes["flavor_data"])

    def fn(session: Session) -> dict[str, Any]:
        row = session.get(m.FlavorProfile, flavorprofile_id, with_for_update=True)
        if row is None:
            raise NotFound(resource="Flavor profile", id=flavorprofile_id)
        for attr, value in changes.items():
            setattr(row, attr, value)
        return _wire("flavorprofile", row)

    return respond(200, {"flavorprofile": st.write(fn)})


@router.delete("/flavorprofiles/{flavorprofile_id}", status_code=204,
               responses=fault_responses(401, 403, 404, 409))
def delete_flavorprofile(request: Request, flavorprofile_id: str) -> Response:
    st, ctx = env(request)
    ctx.require_admin()

    def fn(session: Session) -> None:
        row = session.get(m.FlavorProfile, flavorprofile_id)
        if row is None:
            raise NotFound(resource="Flavor profile", id=flavorprofile_id)
        user = session.scalar(sa.select(m.Flavor.id)
                              .where(m.Flavor.flavor_profile_id == row.id).limit(1))
        if user is not None:
            raise InUse(resource="Flavor profile", id=row.id, detail=f"flavor {user} uses it")
        session.delete(row)

    st.write(fn)
    return no_content()


@router.get("/flavors", response_model=FlavorsRootResponse,
            responses=fault_responses(400, 401, 403))
def list_flavors(request: Request) -> JSONResponse:
    return _list(request, "flavor", "flavors")


@router.get("/flavors/{flavor_id}", response_model=FlavorRootResponse,
            responses=fault_responses(401, 403, 404))
def show_flavor(request: Request, flavor_id: str) -> JSONResponse:
    return _show(request, "flavor", flavor_id, "Flavor")


@router.post("/flavors", status_code=201, response_model=FlavorRootResponse,
             responses=fault_responses(400, 401, 403, 409))
def create_flavor(request: Request, body: FlavorRootPOST) -> JSONResponse:
    st, ctx = env(request)
    ctx.require_admin()
    spec = body.flavor

    def fn(session: Session) -> dict[str, Any]:
        if session.get(m.FlavorProfile, spec.flavor_profile_id) is None:
            raise ValidationFailure(detail=f"Flavor profile {spec.flavor_profile_id} not found.")
        if session.scalar(sa.select(m.Flavor.id).where(m.Flavor.name == spec.name)):
            from bigip_lbaas.api.errors import DuplicateName
            raise DuplicateName(resource="Flavor", name=spec.name)
        row = m.Flavor(id=str(uuid.uuid4()), **spec.model_dump())
        session.add(row)
        session.flush()
        return _wire("flavor", row)

    return respond(201, {"flavor": st.write(fn)})


@router.put("/flavors/{flavor_id}", response_model=FlavorRootResponse,
            responses=fault_responses(400, 401, 403, 404))
def update_flavor(request: Request, flavor_id: str, body: FlavorRootPUT) -> JSONResponse:
    st, ctx = env(request)
    ctx.require_admin()
    changes = body.flavor.model_dump(exclude_unset=True)

    def fn(session: Session) -> dict[str, Any]:
        row = session.get(m.Flavor, flavor_id, with_for_update=True)
        if row is None:
            raise NotFound(resource="Flavor", id=flavor_id)
        for attr, value in changes.items():
            if value is not None or attr == "description":
                setattr(row, attr, value)
        return _wire("flavor", row)

    return respond(200, {"flavor": st.write(fn)})


@router.delete("/flavors/{flavor_id}", status_code=204,
               responses=fault_responses(401, 403, 404, 409))
def delete_flavor(request: Request, flavor_id: str) -> Response:
    st, ctx = env(request)
    ctx.require_admin()

    def fn(session: Session) -> None:
        row = session.get(m.Flavor, flavor_id)
        if row is None:
            raise NotFound(resource="Flavor", id=flavor_id)
        user = session.scalar(sa.select(m.LoadBalancer.id)
                              .where(m.LoadBalancer.flavor_id == row.id).limit(1))
        if user is not None:
            raise InUse(resource="Flavor", id=row.id, detail=f"load balancer {user} uses it")
        session.delete(row)

    st.write(fn)
    return no_content()


@router.get("/availabilityzones", response_model=AvailabilityZonesRootResponse,
            responses=fault_responses(401, 403))
def list_availability_zones(request: Request) -> JSONResponse:
    return respond(200, {"availability_zones": [], "availability_zones_links": []})


@router.get("/availabilityzones/{name}", responses=fault_responses(401, 403, 404))
def show_availability_zone(request: Request, name: str) -> JSONResponse:
    raise NotFound(resource="Availability Zone", id=name)


@router.get("/availabilityzoneprofiles", response_model=AvailabilityZoneProfilesRootResponse,
            responses=fault_responses(401, 403))
def list_availability_zone_profiles(request: Request) -> JSONResponse:
    env(request)[1].require_admin()
    return respond(200, {"availability_zone_profiles": [],
                         "availability_zone_profiles_links": []})
