"""`bigip-lbaas api`: check what it would expose and the schema, then serve with uvicorn (HTTPS
when `[api_settings] cert_file` and `key_file` are set) until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import sys

import uvicorn
from oslo_config import cfg

from bigip_lbaas.api.app import asgi_app
from bigip_lbaas.api.sweeper import Sweeper
from bigip_lbaas.config.load import check_api_exposure
from bigip_lbaas.core.errors import BigipLbaasError
from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database

LOG = logging.getLogger(__name__)


def run(conf: cfg.ConfigOpts) -> int:
    """Serve the API on [api_settings] bind_host:bind_port. Returns the process exit code."""
    try:
        check_api_exposure(conf)
        db = Database(str(conf.database.connection))
        schema.require_current(db)
        app = asgi_app(conf, db)
    except BigipLbaasError as err:
        print(f"bigip-lbaas api: {err}", file=sys.stderr)
        return 1
    api = conf.api_settings
    config = uvicorn.Config(app, host=str(api.bind_host), port=int(api.bind_port),
                            log_level="warning", access_log=False, lifespan="off",
                            ssl_certfile=api.cert_file or None, ssl_keyfile=api.key_file or None)
    server = uvicorn.Server(config)
    sweeper = Sweeper.from_conf(conf, db)  # M11: work no agent can finish ends in ERROR
    if sweeper is not None:
        sweeper.start()
    try:
        server.run()
    finally:
        if sweeper is not None:
            sweeper.stop()
        db.dispose()
    return 0
