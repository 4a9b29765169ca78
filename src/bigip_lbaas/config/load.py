"""Build a ConfigOpts from `--config-file` / `--config-dir`, and report what it cannot use.

Errors come out as ConfigError with one line naming file, section, option and accepted values.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from oslo_config import cfg, types

from bigip_lbaas.config import options
from bigip_lbaas.core.errors import ConfigError

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
                where, raw = _where_set(conf, group or "DEFAULT", opt.dest)
                value = f" = {raw!r}" if raw is not None else ""
                raise ConfigError(
                    f"{where}: [{group}] {opt.dest}{value}: invalid value ({_reason(err)}); "
                    f"accepted: {_accepted(opt)}"
                ) from None


def _files_read(conf: cfg.ConfigOpts) -> list[str]:
    """The files oslo.config read, in order (later wins): --config-file, then --config-dir."""
    files = [str(f) for f in conf.config_file or []]
    dirs = conf.config_dir or []
    for directory in [dirs] if isinstance(dirs, str) else dirs:
        files += sorted(str(f) for f in Path(directory).glob("*.conf"))
    return files


def _sections(path: str) -> dict[str, dict[str, list[str]]]:
    """A file's sections as oslo.config's own parser reads them (quotes, spaces and all)."""
    parser = cfg.ConfigParser(path, {})
    try:
        parser.parse()
    except Exception:  # oslo.config already parsed it; be lenient here
        return {}
    sections: dict[str, dict[str, list[str]]] = parser.sections
    return sections


def _where_set(conf: cfg.ConfigOpts, group: str, name: str) -> tuple[str, str | None]:
    """The last file that sets `[group] name`, and the raw value it sets there."""
    for path in reversed(_files_read(conf)):
        values = _sections(path).get(group, {}).get(name)
        if values:
            return path, str(values[-1])
    return "command line", None


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


def warn_unsupported(conf: cfg.ConfigOpts) -> list[str]:
    names = unsupported_options_set(conf)
    if names:
        LOG.warning(
            "options set but not implemented (ignored): %s",
            ", ".join(names),
            extra={"action": "config_unsupported"},
        )
    return names
