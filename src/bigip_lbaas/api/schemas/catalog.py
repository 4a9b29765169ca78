"""Providers, flavors, flavor profiles and availability zones."""

from __future__ import annotations

from pydantic import Field

from bigip_lbaas.api.schemas.common import Link, Name, Request, Response


class ProviderResponse(Response):
    name: str | None = None
    description: str | None = None


class ProvidersRootResponse(Response):
    providers: list[ProviderResponse]


class CapabilitiesRootResponse(Response):
    flavor_capabilities: list[ProviderResponse] | None = None


class FlavorProfilePOST(Request):
    name: str = Field(max_length=255)
    provider_name: str = Field(max_length=64)
    flavor_data: str = Field(max_length=4096)


class FlavorProfilePUT(Request):
    name: str | None = Field(default=None, max_length=255)
    provider_name: str | None = Field(default=None, max_length=64)
    flavor_data: str | None = Field(default=None, max_length=4096)


class FlavorProfileRootPOST(Request):
    flavorprofile: FlavorProfilePOST


class FlavorProfileRootPUT(Request):
    flavorprofile: FlavorProfilePUT


class FlavorProfileResponse(Response):
    id: str | None = None
    name: str | None = None
    provider_name: str | None = None
    flavor_data: str | None = None


class FlavorProfileRootResponse(Response):
    flavorprofile: FlavorProfileResponse


class FlavorProfilesRootResponse(Response):
    flavorprofiles: list[FlavorProfileResponse]
    flavorprofiles_links: list[Link]


class FlavorPOST(Request):
    name: str = Field(max_length=255)
    description: Name = None
    enabled: bool = True
    flavor_profile_id: str = Field(max_length=36)


class FlavorPUT(Request):
    name: str | None = Field(default=None, max_length=255)
    description: Name = None
    enabled: bool | None = None


class FlavorRootPOST(Request):
    flavor: FlavorPOST


class FlavorRootPUT(Request):
    flavor: FlavorPUT


class FlavorResponse(Response):
    id: str | None = None
    name: str | None = None
    description: str | None = None
    enabled: bool | None = None
    flavor_profile_id: str | None = None


class FlavorRootResponse(Response):
    flavor: FlavorResponse


class FlavorsRootResponse(Response):
    flavors: list[FlavorResponse]
    flavors_links: list[Link]


class AvailabilityZonesRootResponse(Response):
    availability_zones: list[dict[str, object]]
    availability_zones_links: list[Link]


class AvailabilityZoneProfilesRootResponse(Response):
    availability_zone_profiles: list[dict[str, object]]
    availability_zone_profiles_links: list[Link]
