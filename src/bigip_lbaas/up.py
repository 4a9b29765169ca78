"""`bigip-lbaas up`: the embedded default on one machine (SQLite, a simulated pair, API, agents)."""

from __future__ import annotations

import argparse

from bigip_lbaas.core.errors import BigipLbaasError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agents", type=int, default=2, help="number of agents (default 2)")
    parser.add_argument("--devices", type=int, default=2, help="simulated devices (default 2)")
    parser.add_argument("--port", type=int, default=9876, help="API port (default 9876)")
    parser.add_argument(
        "--state-dir",
        default="./bigip-lbaas-state",
        help="where the database, simulator state and logs live",
    )


def run(args: argparse.Namespace) -> int:
    raise BigipLbaasError("`up` is not built yet")
