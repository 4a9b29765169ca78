"""`bigip-lbaas` command line: argument parsing and wiring only.

Subcommands: api, agent, sim, up, db upgrade, status. Each server-style command takes oslo.config
style `--config-file` (repeatable, later files win) and `--config-dir`. Errors we raise on purpose
print as one line and exit non-zero; nothing here does work of its own.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from bigip_lbaas import __version__
from bigip_lbaas.core.errors import BigipLbaasError

Handler = Callable[[argparse.Namespace], int]


def _add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config-file",
        action="append",
        default=[],
        metavar="PATH",
        help="configuration file (repeatable; later files win)",
    )
    parser.add_argument(
        "--config-dir", metavar="DIR", help="directory of *.conf files, read after --config-file"
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        help="log line format (default: [bigip_lbaas] log_format, else text)",
    )
    parser.add_argument("--debug", action="store_true", help="log at debug level")


def _load_conf(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from bigip_lbaas.config.load import load
    from bigip_lbaas.logs import setup_logging

    conf = load(args.config_file, args.config_dir)
    # Every line carries the configured `host` (unique per agent), not the machine's hostname.
    setup_logging(
        fmt=args.log_format or conf.bigip_lbaas.log_format,
        debug=args.debug or conf.debug,
        host=conf.host,
    )
    return conf


def _cmd_api(args: argparse.Namespace) -> int:
    from bigip_lbaas.api import server

    return server.run(_load_conf(args))


def _cmd_agent(args: argparse.Namespace) -> int:
    from bigip_lbaas.agent import service

    return service.run(_load_conf(args))


def _cmd_sim(args: argparse.Namespace) -> int:
    from bigip_lbaas.sim import server

    return server.run(args)


def _cmd_up(args: argparse.Namespace) -> int:
    from bigip_lbaas import up

    return up.run(args)


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bigip_lbaas.db import schema
    from bigip_lbaas.db.session import Database, describe_url

    conf = _load_conf(args)
    url = args.database or conf.database.connection
    db = Database(url)
    try:
        before, after = schema.upgrade(db)
    finally:
        db.dispose()
    if before == after:
        print(f"{describe_url(url)}: schema already at {after}")
    else:
        print(f"{describe_url(url)}: schema upgraded from {before or 'empty'} to {after}")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from bigip_lbaas import status

    return status.run(_load_conf(args), args)


def _cmd_octavia_bridge(args: argparse.Namespace) -> int:
    from bigip_lbaas.octavia import bridge

    return bridge.run(_load_conf(args))


def build_parser() -> argparse.ArgumentParser:
    from bigip_lbaas import up
    from bigip_lbaas.sim import server as sim_server

    parser = argparse.ArgumentParser(
        prog="bigip-lbaas",
        description="Load balancing as a service for F5 BIG-IP: Octavia v2 API, redundant "
        "agents on one shared database.",
    )
    parser.add_argument("--version", action="version", version=f"bigip-lbaas {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    api = sub.add_parser("api", help="run the Octavia v2-compatible REST API server")
    _add_config_args(api)
    api.set_defaults(handler=_cmd_api)

    agent = sub.add_parser("agent", help="run one agent (one per host)")
    _add_config_args(agent)
    agent.set_defaults(handler=_cmd_agent)

    sim = sub.add_parser("sim", help="run the BIG-IP iControl REST simulator")
    sim_server.add_arguments(sim)
    sim.set_defaults(handler=_cmd_sim)

    up_parser = sub.add_parser(
        "up", help="run everything on this machine: SQLite, a simulated pair, the API and agents"
    )
    up.add_arguments(up_parser)
    up_parser.set_defaults(handler=_cmd_up)

    db = sub.add_parser("db", help="database schema management")
    db_sub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    upgrade = db_sub.add_parser("upgrade", help="create or upgrade the schema (idempotent)")
    _add_config_args(upgrade)
    upgrade.add_argument(
        "--database", metavar="URL", help="database URL (default: [database] connection)"
    )
    upgrade.set_defaults(handler=_cmd_db_upgrade)

    status = sub.add_parser("status", help="show agents, devices and partitions right now")
    _add_config_args(status)
    status.add_argument("--json", action="store_true", help="print JSON instead of tables")
    status.set_defaults(handler=_cmd_status)

    octavia_bridge = sub.add_parser(
        "octavia-bridge", help="deliver statuses and statistics to Octavia's driver agent "
        "(the bigip provider driver's way back; [bigip_lbaas_octavia] sockets)")
    _add_config_args(octavia_bridge)
    octavia_bridge.set_defaults(handler=_cmd_octavia_bridge)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except BigipLbaasError as err:
        print(f"bigip-lbaas {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    logging.basicConfig()
    sys.exit(main())
