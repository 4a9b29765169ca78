"""Build a ConfigOpts from `--config-file` / `--config-dir`, and report what it cannot use.

Errors come out as ConfigError with one line naming file, section, option and accepted values.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from oslo_config import cfg

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
    """Touch every registered option so an invalid value fails now, naming where it came from."""
    for group, opts in options.list_opts():
        section = None if group == "DEFAULT" else group
        for opt in opts:
            try:
                getattr(conf[section] if section else conf, opt.dest)
            except (ValueError, cfg.ConfigFileValueError) as err:
                loc = conf.get_location(opt.dest, section)
                where = loc.detail if loc and loc.detail else "command line"
                choices = getattr(opt.type, "choices", None)
                accepted = f"; accepted: {', '.join(map(str, choices))}" if choices else ""
                raise ConfigError(
                    f"{where}: [{group}] {opt.dest}: invalid value ({err}){accepted}"
                ) from err


def unsupported_options_set(conf: cfg.ConfigOpts) -> list[str]:
    """F5 options present in the operator's files that this product does not act on."""
    found: list[str] = []
    for path in conf.config_file or []:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        keys = {
            line.split("=", 1)[0].strip()
            for line in text.splitlines()
            if "=" in line and not line.lstrip().startswith(("#", ";", "["))
        }
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
