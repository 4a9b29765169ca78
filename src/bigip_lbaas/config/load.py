"""Build a ConfigOpts from `--config-file` / `--config-dir`, and report what it cannot use.

Errors come out as ConfigError with one line naming file, section, option and accepted values.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import logging
import socket
import ssl
from collections.abc import Sequence
from pathlib import Path

from oslo_config import cfg, types

from bigip_lbaas.config import l2l3, options
from bigip_lbaas.config.devices import InvalidPort, parse_devices
from bigip_lbaas.core.certs import InvalidStorageKey
from bigip_lbaas.core.errors import ConfigError, DatabaseError
from bigip_lbaas.db.secrets import read_storage_key
from bigip_lbaas.db.session import normalise_url

LOG = logging.getLogger(__name__)


def load(config_files: Sequence[str] = (), config_dir: str | None = None) -> cfg.ConfigOpts:
    """Parse the operator's files (later files win) into a fresh ConfigOpts."""
    for path in config_files:
        if not Path(path).is_file():
            raise ConfigError(f"config file {path} does not exist or is not a file")
    conf = cfg.ConfigOpts()
    options.register(conf)
    args: list[str] = []
    for path in config_files:
        args += ["--config-file", path]
    if config_dir:
        args += ["--config-dir", config_dir]
    try:
        conf(args=args, project="bigip-lbaas", default_config_files=[], default_config_dirs=[])
    except cfg.Error as err:
        raise ConfigError(f"configuration error: {err}") from err
    validate(conf)
    return conf


def validate(conf: cfg.ConfigOpts) -> None:
    """Touch every registered option so an invalid value fails now, naming where it came from.

    The message is one line: `<file>: [<section>] <option> = <value>: <reason>; accepted: ...`.
    """
    for group, opts in options.list_opts():
        section = None if group == "DEFAULT" else group
        for opt in opts:
            try:
                getattr(conf[section] if section else conf, opt.dest)
            except (ValueError, cfg.ConfigFileValueError) as err:
                where, raw, section_as_written = _where_set(conf, group or "DEFAULT", opt.dest)
                value = f" = {raw!r}" if raw is not None and not opt.secret else ""
                raise ConfigError(
                    f"{where}: [{section_as_written}] {opt.dest}{value}: invalid value "
                    f"({_reason(err)}); accepted: {_accepted(opt)}"
                ) from None
    _check_icontrol_hostname(conf)
    _check_database_connection(conf)
    _check_certificates(conf)
    _check_l2l3(conf)
    _check_networking(conf)


def _check_l2l3(conf: cfg.ConfigOpts) -> None:
    """F5's L2/L3 options parse (``config.l2l3``), whatever the mode: a value refused names
    the file that set it, the option and the value."""
    try:
        l2l3.network_settings(conf)
    except l2l3.BadOption as err:
        where, raw, section = _where_set(conf, "DEFAULT", err.name)
        shown = raw if raw is not None else err.value
        raise ConfigError(f"{where}: [{section}] {err.name} = {shown!r}: {err.reason}; "
                          f"accepted: {err.accepted}") from None


def _check_icontrol_hostname(conf: cfg.ConfigOpts) -> None:
    """Each comma-separated device is `host`, `host:port` or `[v6addr]:port`, port 1-65535 (parsed
    as the agent parses it, `config.devices`), named by the file that sets it."""
    try:
        parse_devices(str(conf.icontrol_hostname or ""))
    except InvalidPort as err:
        where, value, section = _where_set(conf, "DEFAULT", "icontrol_hostname")
        shown = f" = {value!r}" if value is not None else ""
        raise ConfigError(
            f"{where}: [{section}] icontrol_hostname{shown}: invalid value ({err.item!r} has an "
            "invalid port); accepted: comma-separated host, host:port or [IPv6]:port, "
            "port 1-65535"
        ) from None


def _check_database_connection(conf: cfg.ConfigOpts) -> None:
    """A URL we cannot parse or whose scheme we do not ship fails here, naming where it is set.

    The value itself is never shown (it holds the password): only `scheme://host`.
    """
    try:
        normalise_url(str(conf.database.connection))
    except DatabaseError as err:
        where, _value, section = _where_set(conf, "database", "connection")
        raise ConfigError(f"{where}: [{section}] connection: {err}") from None


def _check_certificates(conf: cfg.ConfigOpts) -> None:
    """`cert_manager` names a store we can use: the built-in one (its key file, when set, is there
    and holds a key; the key itself is never shown), or Barbican, which needs Keystone (token
    auth at the API, the service's own `[service_auth]` credentials) and the barbican extra."""
    manager = str(conf.certificates.cert_manager)
    if manager == options.BARBICAN_CERT_MANAGER:
        _check_barbican(conf)
    elif manager != options.BUILTIN_CERT_MANAGER:  # the option's choices refuse this first
        where, _value, section = _where_set(conf, "certificates", "cert_manager")
        raise ConfigError(f"{where}: [{section}] cert_manager = {manager}: not a store we have; "
                          f"accepted: {options.BUILTIN_CERT_MANAGER}, "
                          f"{options.BARBICAN_CERT_MANAGER}")
    path = conf.certificates.storage_key_file
    if not path:
        return
    try:
        read_storage_key(str(path))
    except (OSError, UnicodeDecodeError, InvalidStorageKey) as err:
        reason = err.strerror if isinstance(err, OSError) else "not a storage key"
        if isinstance(err, InvalidStorageKey):
            reason = f"not a storage key ({err})"
        where, _value, section = _where_set(conf, "certificates", "storage_key_file")
        raise ConfigError(f"{where}: [{section}] storage_key_file = {path!r}: cannot read a "
                          f"key from it ({reason}); accepted: a file with 32 bytes of URL-safe "
                          "base64") from None


def _check_barbican(conf: cfg.ConfigOpts) -> None:
    """barbican_cert_manager without Keystone is refused: the API checks a user's access to a
    secret with the user's token, agents read with the service's credentials."""
    where, _value, section = _where_set(conf, "certificates", "cert_manager")
    head = f"{where}: [{section}] cert_manager = {options.BARBICAN_CERT_MANAGER}"
    if str(conf.api_settings.auth_strategy) != "keystone":
        raise ConfigError(f"{head} needs Keystone: [api_settings] auth_strategy = "
                          f"{conf.api_settings.auth_strategy}; accepted with Barbican: keystone")
    missing = [name for name in ("auth_url", "username", "password")
               if not conf.service_auth[name]]
    if missing:
        raise ConfigError(f"{head} needs Keystone: [service_auth] {', '.join(missing)} not set "
                          "(the service's own credentials, Octavia's option names)")
    if not all(importlib.util.find_spec(m) for m in ("keystoneauth1", "barbicanclient")):
        raise ConfigError(f"{head} needs keystoneauth1 and python-barbicanclient: install "
                          "bigip-lbaas[barbican]")


def _check_networking(conf: cfg.ConfigOpts) -> None:
    """`[networking] source = neutron` needs the service's Keystone credentials and
    keystoneauth1 (network/neutron.py)."""
    if str(conf.networking.source) != options.NEUTRON_NETWORK_SOURCE:
        return
    where, _value, section = _where_set(conf, "networking", "source")
    head = f"{where}: [{section}] source = {options.NEUTRON_NETWORK_SOURCE}"
    missing = [name for name in ("auth_url", "username", "password")
               if not conf.service_auth[name]]
    if missing:
        raise ConfigError(f"{head} needs Keystone: [service_auth] {', '.join(missing)} not set "
                          "(the service's own credentials, Octavia's option names)")
    if importlib.util.find_spec("keystoneauth1") is None:
        raise ConfigError(f"{head} needs keystoneauth1: install bigip-lbaas[neutron]")


def check_api_exposure(conf: cfg.ConfigOpts) -> None:
    """What `bigip-lbaas api` refuses to start with, each as one line naming option and value:
    noauth on an address that is not loopback (unless `allow_insecure_noauth`), and a TLS
    certificate or key that is half set, unreadable, or not a pair."""
    api = conf.api_settings
    host = str(api.bind_host)
    if (str(api.auth_strategy) == "noauth" and not api.allow_insecure_noauth
            and not is_loopback(host)):
        where, _value, section = _where_set(conf, "api_settings", "bind_host")
        raise ConfigError(
            f"{where}: [{section}] bind_host = {host} is not a loopback address and "
            "auth_strategy = noauth makes every caller admin: use auth_strategy = keystone "
            "or header, bind to 127.0.0.1, or set [api_settings] allow_insecure_noauth = true "
            "if that is what you mean")
    cert, key = api.cert_file, api.key_file
    if not cert and not key:
        return
    for name, path in (("cert_file", cert), ("key_file", key)):
        where, _value, section = _where_set(conf, "api_settings", name)
        if not path:
            other = "key_file" if name == "cert_file" else "cert_file"
            raise ConfigError(f"[api_settings] {name} is not set but {other} is: HTTPS needs "
                              "both a certificate and its key")
        try:
            Path(path).read_bytes()
        except OSError as err:
            raise ConfigError(f"{where}: [{section}] {name} = {path}: cannot read the file "
                              f"({err.strerror or err})") from None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            cert, key, password=lambda: b"")  # an encrypted key fails here instead of prompting
    except (ssl.SSLError, ValueError) as err:
        where, _value, section = _where_set(conf, "api_settings", "cert_file")
        raise ConfigError(f"{where}: [{section}] cert_file = {cert}, key_file = {key}: not a "
                          f"PEM certificate and its matching unencrypted key "
                          f"({getattr(err, 'reason', None) or err})") from None


def is_loopback(host: str) -> bool:
    """Whether every address `host` names is a loopback address (a name that does not resolve
    is not)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(found) and all(ipaddress.ip_address(str(a[4][0]).split("%", 1)[0]).is_loopback
                               for a in found)


def _files_read(conf: cfg.ConfigOpts) -> list[str]:
    """The files oslo.config read, in order (later wins): --config-file, then --config-dir."""
    files = [str(f) for f in conf.config_file or []]
    dirs = conf.config_dir or []
    for directory in [dirs] if isinstance(dirs, str) else dirs:
        files += sorted(str(f) for f in Path(directory).glob("*.conf"))
    return files


class _Recorder(cfg.ConfigParser):
    """oslo.config's own parser (quotes, spaces, continuation lines), recording every assignment
    under oslo.config's normalised section name (`[agent]` and `[AGENT]` are one group; only
    `DEFAULT` is case-sensitive) together with the section's spelling in the file."""

    def __init__(self, path: str) -> None:
        super().__init__(path, {})
        self.found: dict[str, dict[str, tuple[str, str]]] = {}

    def assignment(self, key: str, value: list[str]) -> None:
        super().assignment(key, value)
        section = str(self.section)
        self.found.setdefault(_normalise(section), {})[key] = ("\n".join(value), section)


def _normalise(section: str) -> str:
    return section if section == "DEFAULT" else section.lower()


def _sections(path: str) -> dict[str, dict[str, tuple[str, str]]]:
    """normalised section -> option -> (last value, section as spelt in the file)."""
    parser = _Recorder(path)
    try:
        parser.parse()
    except Exception:  # oslo.config already parsed it; be lenient here
        return {}
    return parser.found


def _where_set(conf: cfg.ConfigOpts, group: str, name: str) -> tuple[str, str | None, str]:
    """The last file that sets `[group] name`, the raw value there, and the section's spelling.

    Later files win, as in oslo.config; section names compare as oslo.config compares them.
    """
    for path in reversed(_files_read(conf)):
        found = _sections(path).get(_normalise(group), {}).get(name)
        if found is not None:
            return path, found[0], found[1]
    return "command line", None, group


def _reason(err: Exception) -> str:
    text = str(err)
    # oslo.config's message repeats the option and a LocationInfo repr before the reason.
    return text.split("is not valid: ", 1)[1] if "is not valid: " in text else text


def _accepted(opt: cfg.Opt) -> str:
    kind = opt.type
    choices = getattr(kind, "choices", None)
    if choices:
        return ", ".join(map(str, choices))
    if isinstance(kind, types.Boolean):
        return "true or false"
    if isinstance(kind, types.Port):
        return "a port number, 0-65535"
    if isinstance(kind, types.Integer | types.Float):
        what = "an integer" if isinstance(kind, types.Integer) else "a number"
        bounds = []
        if getattr(kind, "min", None) is not None:
            bounds.append(f">= {kind.min}")
        if getattr(kind, "max", None) is not None:
            bounds.append(f"<= {kind.max}")
        return " ".join([what, *bounds]) if not bounds else f"{what} {' and '.join(bounds)}"
    if isinstance(kind, types.HostAddress):
        return "an IP address or host name"
    if isinstance(kind, types.Dict):
        return "key:value pairs separated by commas"
    return "a string"


def unsupported_options_set(conf: cfg.ConfigOpts) -> list[str]:
    """F5 options present in the operator's files that this product does not act on."""
    found: list[str] = []
    for path in _files_read(conf):
        keys = _sections(path).get("DEFAULT", {})
        found += [name for name in options.UNSUPPORTED if name in keys and name not in found]
    return found


def unsupported_values_set(conf: cfg.ConfigOpts) -> list[str]:
    """F5 options we register whose value asks for behaviour this product does not have.

    Any `environment_group_number` or `periodic_interval` other than F5's default: we read
    neither (agents of one environment share its partitions through leases; our loop has no
    periodic tick).
    """
    found = []
    for name, (default, reason) in options.VALUE_NOT_IMPLEMENTED.items():
        value = conf[name]
        if value != default:
            found.append(f"{name} = {value}: {reason}")
    return found


def warn_unsupported(conf: cfg.ConfigOpts) -> list[str]:
    """One warning line naming the options set but ignored (never their values), and one for
    values we cannot honour; never fatal. Returns everything reported."""
    names = unsupported_options_set(conf)
    if names:
        LOG.warning(
            "options set but not implemented (ignored): %s",
            ", ".join(names),
            extra={"action": "config_unsupported"},
        )
    values = unsupported_values_set(conf)
    if values:
        LOG.warning(
            "option values this product does not honour (running as if at the default): %s",
            "; ".join(values),
            extra={"action": "config_unsupported_value"},
        )
    return names + values
