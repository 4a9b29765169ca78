"""`python -m bigip_lbaas.sim`: run the simulator without the main CLI."""

from __future__ import annotations

import argparse
import sys

from bigip_lbaas.sim.server import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bigip_lbaas.sim", description="BIG-IP iControl REST simulator"
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
