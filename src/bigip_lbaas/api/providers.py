"""Providers and the environment each one serves, from neutron_lbaas.conf and octavia.conf options.

F5's convention: the default F5 provider serves the configured `environment_prefix` (`Project` by
default); any other provider's name is itself the environment prefix of its agents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from oslo_config import cfg
from sqlalchemy.orm import Session

from bigip_lbaas.api.errors import ProviderFlavorMismatch, UnknownProvider, ValidationFailure
from bigip_lbaas.api.schemas.loadbalancer import LoadBalancerPOST
from bigip_lbaas.core.errors import ConfigError
from bigip_lbaas.db import models as m


@dataclass(frozen=True)
class Provider:
    name: str
    description: str
    environment: str


@dataclass(frozen=True)
class Providers:
    by_name: dict[str, Provider]
    default: str

    def get(self, name: str | None) -> Provider | None:
        return self.by_name.get(name or self.default)

    def names(self) -> list[str]:
        return sorted(self.by_name)


def load_providers(conf: cfg.ConfigOpts) -> Providers:
    """Build the provider table; with nothing configured, one provider `f5` is the default."""
    prefix = str(conf.environment_prefix)
    entries: list[tuple[str, str, bool]] = []
    for line in conf.service_providers.service_provider or []:
        parts = [p.strip() for p in str(line).split(":")]
        if len(parts) < 3 or parts[0] != "LOADBALANCERV2":
            if len(parts) >= 3:
                continue  # another service type, not ours
            raise ConfigError(
                f"[service_providers] service_provider: cannot parse {line!r}; "
                "expected LOADBALANCERV2:<name>:<driver>[:default]"
            )
        name = parts[1]
        # The driver path may itself contain ':'; only a trailing 'default' is special.
        is_default = parts[-1] == "default" and len(parts) >= 4
        entries.append((name, ":".join(parts[2:-1] if is_default else parts[2:]), is_default))
    for name, description in (conf.api_settings.enabled_provider_drivers or {}).items():
        if name not in {e[0] for e in entries}:
            entries.append((name, str(description), False))
    if not entries:
        entries.append(("f5", "F5 BIG-IP provider", True))
    wanted_default = str(conf.api_settings.default_provider_driver or "")
    defaults = [e[0] for e in entries if e[2]]
    names = [e[0] for e in entries]
    default = defaults[0] if defaults else (wanted_default if wanted_default in names else names[0])
    by_name = {
        name: Provider(name=name, description=desc, environment=prefix if name == default else name)
        for name, desc, _ in entries
    }
    return Providers(by_name=by_name, default=default)


def resolve(session: Session, providers: Providers, spec: LoadBalancerPOST) -> Provider:
    """The provider (and so the environment) from `provider`, the flavor, or the default."""
    flavor_env: str | None = None
    flavor_provider: str | None = None
    if spec.flavor_id:
        flavor = session.get(m.Flavor, spec.flavor_id)
        if flavor is None:
            raise ValidationFailure(detail=f"Flavor {spec.flavor_id} not found.")
        if not flavor.enabled:
            raise ValidationFailure(detail=f"Flavor {spec.flavor_id} is disabled.")
        profile = session.get(m.FlavorProfile, flavor.flavor_profile_id)
        if profile is not None:
            flavor_provider = profile.provider_name
            try:
                data = json.loads(profile.flavor_data or "{}")
            except ValueError:
                data = {}
            if isinstance(data, dict) and data.get("environment"):
                flavor_env = str(data["environment"])
    name = spec.provider or flavor_provider
    if spec.provider and flavor_provider and spec.provider != flavor_provider:
        raise ProviderFlavorMismatch(flavor=spec.flavor_id, provider=spec.provider)
    provider = providers.get(name)
    if provider is None:
        raise UnknownProvider(name=name, known=", ".join(providers.names()))
    if flavor_env:
        provider = Provider(provider.name, provider.description, flavor_env)
    return provider
