"""`bigip-lbaas` command line: argument parsing and wiring only.

Subcommands: api, agent, sim, up, db upgrade, status, diff, import neutron-lbaas. Each server-style command takes oslo.config
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

    return server.run(_load_conf(args), worker_factory="bigip_lbaas.cli:api_worker",
                      log_format=args.log_format, debug=args.debug)


def api_worker():  # type: ignore[no-untyped-def]
    """uvicorn's app factory in each API worker process (`[api_settings] workers` > 1): the
    parent's configuration files and logging, then the app."""
    from bigip_lbaas.api import server
    from bigip_lbaas.config.load import load
    from bigip_lbaas.logs import setup_logging

    spec = server.worker_spec()
    conf = load(spec["config_files"], spec["config_dir"])
    setup_logging(fmt=spec["log_format"] or conf.bigip_lbaas.log_format,
                  debug=bool(spec["debug"]) or conf.debug, host=conf.host)
    return server.worker_app(conf)


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


def _cmd_diff(args: argparse.Namespace) -> int:
    from bigip_lbaas import diff

    return diff.run(_load_conf(args), args)


def _add_diff(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from bigip_lbaas import diff

    parser = sub.add_parser(
        "diff",
        help="show what differs between the desired state and each device (read-only; "
        "exit 0 in step, 1 not, 2 error)",
    )
    _add_config_args(parser)
    diff.add_arguments(parser)
    parser.set_defaults(handler=_cmd_diff)


def _cmd_import_neutron_lbaas(args: argparse.Namespace) -> int:
    from bigip_lbaas.migrate import neutron_lbaas

    return neutron_lbaas.run(_load_conf(args), args)


def _add_import(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    imp = sub.add_parser("import", help="import load balancers from another system")
    imp_sub = imp.add_subparsers(dest="import_source", metavar="SOURCE", required=True)
    nl = imp_sub.add_parser("neutron-lbaas", help="import a neutron-lbaas v2 database "
                            "(same ids, projects, names, statuses) into the shared database")
    _add_config_args(nl)
    nl.add_argument("--connection", required=True, metavar="URL",
                    help="the neutron-lbaas (Neutron) database URL, read only")
    nl.add_argument("--dry-run", action="store_true",
                    help="print what would be imported and write nothing")
    nl.add_argument("--batch-size", type=int, default=1, metavar="N",
                    help="whole load balancers per transaction (default 1: one transaction "
                    "each; a failed batch is retried one by one)")
    nl.set_defaults(handler=_cmd_import_neutron_lbaas)


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

    _add_diff(sub)
    _add_import(sub)

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
