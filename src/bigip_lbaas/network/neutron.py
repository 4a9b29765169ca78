"""`[networking] source = neutron`: a real Neutron, reached through Keystone's catalog.

Every call is Neutron's REST API (`/v2.0`) through a keystoneauth1 Adapter (service type
`network`) on the service's own session (`[service_auth]`, serviceauth.py, the same session the
Barbican store uses). The service user needs Neutron's admin role: `provider:*` attributes,
ports in other projects and `/v2.0/agents` are admin-only in Neutron's default policy.

What it does in Neutron:

- `subnet`, `segment`: `GET /v2.0/subnets/<id>`, `GET /v2.0/networks/<id>` (the provider
  attributes, or the first of `segments` on a multi-segment network).
- `ensure_port`: `GET /v2.0/ports?name=…&network_id=…`; if none, `POST /v2.0/ports` in the
  given project with one fixed IP on the subnet (the given address, else Neutron's choice),
  `device_owner` F5's `network:f5lbaasv2` and the given `device_id`. The name is the idempotency
  key (a second call, by another API replica or a new agent owner, finds the first one's port).
- `delete_ports`: the ports of ours (`device_owner` F5's) with those names, deleted.
- `delete_port`: one port by id, if it is ours; a port someone else made (a project's
  `vip_port_id`) is left as it is, as Octavia leaves a VIP port it did not create; gone already
  is fine.
- `fdb_records`: the ports holding the addresses on the network (`fixed_ips=ip_address=…`):
  MAC and `binding:host_id`; the VTEP is the `tunneling_ip` an L2 agent on that host reports in
  `/v2.0/agents`. Where no agent reports one (no OVS/Linux bridge agents, as in the tests, or an
  ML2/OVN cloud, whose chassis Neutron's API does not describe) the VTEP cannot be known and the
  record is left out, never guessed.

Errors: 404 is `NotFound`; a refused request (4xx) is `NeutronRefused` with Neutron's own
message; no answer, Keystone trouble or a 5xx is `NetworkSourceError` (retried by keystoneauth
first: `[networking] retries` for connection failures, and for 5xx on reads and deletes; a
create is never repeated blindly, the caller's retry looks the port up by name first).
Messages carry status codes and Neutron's fault text, never a token (keystoneauth1 redacts the
token header in its DEBUG log; serviceauth.py keeps bodies out of logs).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from oslo_config import cfg

from bigip_lbaas.core.network import FdbRecord, Segment
from bigip_lbaas.network.source import (
    DEVICE_OWNER,
    BookedPort,
    NetworkSourceError,
    NotFound,
    SubnetFacts,
)
from bigip_lbaas.serviceauth import interface, service_session

LOG = logging.getLogger(__name__)
SERVICE_TYPE = "network"
RETRIED_STATUSES = (500, 502, 503, 504)


class NeutronRefused(NetworkSourceError):
    """Neutron refused a request (a 4xx other than 404): `status`, Neutron's fault `kind`
    (e.g. IpAddressAlreadyAllocated) and its message."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message or f"Neutron answered {status}")
        self.status = status
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class NeutronPort:
    """A port as Neutron shows it (what the API needs of a project's `vip_port_id`)."""

    id: str
    name: str
    network_id: str
    project_id: str
    device_owner: str
    device_id: str
    mac_address: str
    fixed_ips: tuple[tuple[str, str], ...]  # (subnet_id, ip_address)


def _fault(body: Any) -> tuple[str, str]:
    """Neutron's fault body: {"NeutronError": {"type", "message", "detail"}}."""
    if isinstance(body, dict):
        err = body.get("NeutronError")
        if isinstance(err, dict):
            return str(err.get("type") or ""), str(err.get("message") or "")
        if isinstance(err, str):
            return "", err
    return "", ""


def _port(raw: dict[str, Any]) -> NeutronPort:
    return NeutronPort(
        id=str(raw["id"]), name=str(raw.get("name") or ""), network_id=str(raw["network_id"]),
        project_id=str(raw.get("project_id") or raw.get("tenant_id") or ""),
        device_owner=str(raw.get("device_owner") or ""),
        device_id=str(raw.get("device_id") or ""),
        mac_address=str(raw.get("mac_address") or ""),
        fixed_ips=tuple((str(ip["subnet_id"]), str(ip["ip_address"]))
                        for ip in raw.get("fixed_ips") or []))


def _booked(port: NeutronPort, subnet_id: str) -> BookedPort:
    address = next((ip for sub, ip in port.fixed_ips if sub == subnet_id),
                   port.fixed_ips[0][1] if port.fixed_ips else "")
    return BookedPort(id=port.id, name=port.name, network_id=port.network_id,
                      subnet_id=subnet_id, ip_address=address,
                      mac_address=port.mac_address or None)


class NeutronSource:
    """`NetworkSource` over a real Neutron (see the module docstring)."""

    def __init__(self, session: ks_session.Session, *, region_name: str | None = None,
                 interface: str = "public", endpoint_override: str | None = None,
                 retries: int = 2) -> None:
        self.retries = retries
        self.adapter = ks_adapter.Adapter(
            session, service_type=SERVICE_TYPE, interface=interface, region_name=region_name,
            endpoint_override=endpoint_override, connect_retries=retries)
        self._base: str | None = None

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> NeutronSource:
        """From `[networking]` and the `[service_auth]` credentials."""
        net = conf.networking
        if not conf.service_auth.auth_url:
            raise NetworkSourceError("[networking] source = neutron needs [service_auth] "
                                     "auth_url, username and password")
        session = service_session(conf.service_auth, timeout=float(net.timeout))
        return cls(session, region_name=net.region_name,
                   interface=interface(str(net.endpoint_type)),
                   endpoint_override=net.endpoint_override, retries=int(net.retries))

    # --- HTTP -------------------------------------------------------------------------------

    def base(self) -> str:
        """Neutron's root URL from the catalog (or the override), without `/v2.0`."""
        if self._base is None:
            try:
                url = self.adapter.get_endpoint()
            except ks_exceptions.ClientException as err:
                raise NetworkSourceError(_ks_reason(err)) from None
            if not url:
                raise NetworkSourceError(f"no {SERVICE_TYPE} endpoint in the Keystone catalog")
            url = str(url).rstrip("/")
            self._base = url[: -len("/v2.0")] if url.endswith("/v2.0") else url
        return self._base

    def call(self, method: str, path: str, *, query: list[tuple[str, str]] | None = None,
             json: dict[str, Any] | None = None, what: str = "") -> Any:
        """`method` on `/v2.0<path>`; the JSON answer (None for 204). 404 -> NotFound(what)."""
        url = f"{self.base()}/v2.0{path}"
        if query:
            url += "?" + urlencode(query)
        retry = {} if method == "POST" else {
            "status_code_retries": self.retries, "retriable_status_codes": RETRIED_STATUSES}
        try:
            resp = self.adapter.request(url, method, json=json, raise_exc=False, **retry)
        except ks_exceptions.ClientException as err:
            raise NetworkSourceError(_ks_reason(err)) from None
        if resp.status_code == 404:
            raise NotFound(what or f"{path} not found in Neutron")
        if resp.status_code >= 500:
            raise NetworkSourceError(f"Neutron answered {resp.status_code} to {method} "
                                     f"{path}")
        if resp.status_code >= 400:
            try:
                body = resp.json()
            except ValueError:
                body = None
            kind, message = _fault(body)
            raise NeutronRefused(resp.status_code, kind, message)
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    # --- NetworkSource ---------------------------------------------------------------------

    def subnet(self, subnet_id: str) -> SubnetFacts:
        raw = self.call("GET", f"/subnets/{subnet_id}",
                        what=f"Subnet {subnet_id} not found.")["subnet"]
        return SubnetFacts(id=str(raw["id"]), network_id=str(raw["network_id"]),
                           cidr=str(raw["cidr"]), ip_version=int(raw["ip_version"]),
                           gateway_ip=raw.get("gateway_ip") or None,
                           project_id=str(raw.get("project_id") or raw.get("tenant_id") or ""))

    def network_subnets(self, network_id: str) -> list[SubnetFacts]:
        """The network's subnets, oldest first as Neutron lists them; NotFound if the network
        does not exist."""
        self.call("GET", f"/networks/{network_id}", what=f"Network {network_id} not found.")
        raw = self.call("GET", "/subnets", query=[("network_id", network_id)])["subnets"]
        return [self.subnet(str(s["id"])) for s in raw]

    def segment(self, network_id: str) -> Segment:
        raw = self.call("GET", f"/networks/{network_id}",
                        what=f"Network {network_id} not found.")["network"]
        seg: dict[str, Any] = raw
        if raw.get("segments"):  # multi-provider: the first segment
            seg = raw["segments"][0]
        network_type = seg.get("provider:network_type")
        if not network_type:
            raise NetworkSourceError(
                f"Neutron shows no provider:network_type for network {network_id}: the "
                "[service_auth] user needs Neutron's admin role")
        seg_id = seg.get("provider:segmentation_id")
        return Segment(network_id=str(raw["id"]), network_type=str(network_type),
                       physical_network=seg.get("provider:physical_network") or None,
                       segmentation_id=int(seg_id) if seg_id is not None else None,
                       mtu=int(raw.get("mtu") or 1500), shared=bool(raw.get("shared")),
                       external=bool(raw.get("router:external")))

    def port(self, port_id: str) -> NeutronPort:
        """One port by id; NotFound if it does not exist."""
        return _port(self.call("GET", f"/ports/{port_id}",
                               what=f"Port {port_id} not found.")["port"])

    def find_ports(self, **filters: str | list[str]) -> list[NeutronPort]:
        """`GET /v2.0/ports` with Neutron's filters (a list: any of its values)."""
        query: list[tuple[str, str]] = []
        for key, value in filters.items():
            query += [(key, v) for v in ([value] if isinstance(value, str) else value)]
        return [_port(p) for p in self.call("GET", "/ports", query=query)["ports"]]

    def ensure_port(
        self, *, name: str, network_id: str, subnet_id: str, project_id: str, device_id: str,
        ip_address: str | None = None,
    ) -> BookedPort:
        found = self.find_ports(name=name, network_id=network_id)
        if found:
            ours = [p for p in found if p.device_owner == DEVICE_OWNER] or found
            return _booked(ours[0], subnet_id)
        fixed: dict[str, str] = {"subnet_id": subnet_id}
        if ip_address:
            fixed["ip_address"] = ip_address
        body = {"port": {"name": name, "network_id": network_id, "project_id": project_id,
                         "fixed_ips": [fixed], "device_owner": DEVICE_OWNER,
                         "device_id": device_id, "admin_state_up": True}}
        made = _port(self.call("POST", "/ports", json=body,
                               what=f"Network {network_id} not found.")["port"])
        LOG.info("created Neutron port %s (%s) on subnet %s", made.id, name, subnet_id)
        return _booked(made, subnet_id)

    def booked(self, names: list[str]) -> list[BookedPort]:
        """Read only: the ports of ours with these names, one per name and subnet."""
        if not names:
            return []
        return [_booked(p, sub) for p in self.find_ports(name=list(names),
                                                         device_owner=DEVICE_OWNER)
                for sub, _ip in p.fixed_ips]

    def delete_ports(self, names: list[str], *, device_id: str | None = None) -> int:
        if not names:
            return 0
        filters: dict[str, str | list[str]] = {"name": list(names), "device_owner": DEVICE_OWNER}
        if device_id is not None:
            filters["device_id"] = device_id
        gone = 0
        for port in self.find_ports(**filters):
            try:
                self.call("DELETE", f"/ports/{port.id}")
            except NotFound:
                continue
            gone += 1
            LOG.info("deleted Neutron port %s (%s)", port.id, port.name)
        return gone

    def delete_port(self, port_id: str) -> None:
        try:
            port = self.port(port_id)
        except NotFound:
            return
        if port.device_owner != DEVICE_OWNER:
            LOG.info("left Neutron port %s in place: not ours (device_owner %r)", port_id,
                     port.device_owner)
            return
        try:
            self.call("DELETE", f"/ports/{port_id}")
        except NotFound:
            return
        LOG.info("deleted Neutron port %s (%s)", port_id, port.name)

    def fdb_records(self, network_id: str, addresses: list[str]) -> list[FdbRecord]:
        if not addresses:
            return []
        raw = self.call("GET", "/ports", query=[("network_id", network_id)] + [
            ("fixed_ips", f"ip_address={a}") for a in addresses])["ports"]
        hosts = {str(p.get("binding:host_id") or "") for p in raw} - {""}
        vteps = {host: vtep for host in sorted(hosts) if (vtep := self._vtep(host))}
        return [FdbRecord(network_id=network_id, mac=str(p["mac_address"]),
                          vtep=vteps[str(p["binding:host_id"])])
                for p in raw if vteps.get(str(p.get("binding:host_id") or ""))]

    def _vtep(self, host: str) -> str | None:
        """The `tunneling_ip` an L2 agent on `host` reports; None where none does."""
        try:
            agents = self.call("GET", "/agents", query=[("host", host)])["agents"]
        except NotFound:  # no agent extension (e.g. no ML2): nothing to know
            return None
        for agent in agents:
            tunneling_ip = (agent.get("configurations") or {}).get("tunneling_ip")
            if tunneling_ip:
                return str(tunneling_ip)
        return None


def _ks_reason(err: ks_exceptions.ClientException) -> str:
    if isinstance(err, ks_exceptions.EndpointNotFound):
        return f"no {SERVICE_TYPE} endpoint in the Keystone catalog"
    if isinstance(err, ks_exceptions.Unauthorized):
        return "Keystone refused the [service_auth] credentials"
    if isinstance(err, ks_exceptions.ConnectionError):
        return f"cannot reach Keystone or Neutron ({type(err).__name__})"
    return f"Keystone or Neutron failed ({type(err).__name__})"
