"""`bigip-lbaas api`: check what it would expose and the schema, then serve with uvicorn (HTTPS
when `[api_settings] cert_file` and `key_file` are set) until SIGINT/SIGTERM.

`[api_settings] workers = N` (N > 1) serves the one listening socket from N worker processes
under uvicorn's supervisor, which restarts a worker that dies. A worker is a fresh interpreter
that reads the same configuration files and sets up logging alike (`bigip_lbaas.cli:api_worker`,
the factory `run` is given), then builds its app with `worker_app`. Nothing a request's answer
depends on lives in a worker's memory (the database holds it all), so any worker answers alike;
the request counters and latency histograms of `/metrics` are kept in prometheus_client's
multiprocess files, so a scrape that lands on any worker reports the sum over all of them. The
unserved-work sweeper (`api/sweeper.py`) runs once per API, in the process `run` runs in (the
supervisor when there are workers).

Each process serving requests tunes Python's garbage collector once its app is built
(`settle_gc`): see there for why and what was measured.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import sys
import tempfile
from typing import Any

import uvicorn
from oslo_config import cfg
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

from bigip_lbaas.api.app import asgi_app
from bigip_lbaas.api.metrics import MULTIPROC_ENV
from bigip_lbaas.api.sweeper import Sweeper
from bigip_lbaas.config.load import check_api_exposure
from bigip_lbaas.core.errors import BigipLbaasError
from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database

LOG = logging.getLogger(__name__)

# What a worker process needs to build the same app: the files the parent read, and logging.
WORKER_ENV = "BIGIP_LBAAS_API_WORKER"


def run(conf: cfg.ConfigOpts, *, worker_factory: str = "", log_format: str | None = None,
        debug: bool = False) -> int:
    """Serve the API on [api_settings] bind_host:bind_port. Returns the process exit code.

    With `workers` > 1, `worker_factory` ("module:function") builds each worker's app from the
    `WORKER_ENV` description (`worker_spec`); `log_format` and `debug` are passed on in it."""
    api = conf.api_settings
    workers = int(api.workers)
    try:
        check_api_exposure(conf)
        db = Database(str(conf.database.connection))
        try:
            schema.require_current(db)
            app = asgi_app(conf, db) if workers == 1 else None
            if app is not None:
                settle_gc()
        except BaseException:
            db.dispose()
            raise
    except BigipLbaasError as err:
        print(f"bigip-lbaas api: {err}", file=sys.stderr)
        return 1
    if app is None and not worker_factory:
        db.dispose()
        print("bigip-lbaas api: workers > 1 needs a worker factory", file=sys.stderr)
        return 1
    # The app's lifespan sizes its thread pool ([api_settings] threads, api/app.py).
    common = {"host": str(api.bind_host), "port": int(api.bind_port), "log_level": "warning",
              "access_log": False, "lifespan": "on",
              "ssl_certfile": api.cert_file or None, "ssl_keyfile": api.key_file or None}
    sweeper = Sweeper.from_conf(conf, db)  # M11: work no agent can finish ends in ERROR
    if sweeper is not None:
        sweeper.start()
    try:
        if app is not None:
            uvicorn.Server(uvicorn.Config(app, **common)).run()  # type: ignore[arg-type]
        else:  # the workers open their own connections
            _run_workers(conf, workers, common, worker_factory, log_format=log_format,
                         debug=debug)
    finally:
        if sweeper is not None:
            sweeper.stop()
        db.dispose()
    return 0


def _run_workers(conf: cfg.ConfigOpts, workers: int, common: dict[str, object], factory: str,
                 *, log_format: str | None, debug: bool) -> None:
    os.environ[WORKER_ENV] = json.dumps({
        "config_files": list(conf.config_file or []), "config_dir": conf.config_dir,
        "log_format": log_format, "debug": debug})
    metrics_dir = os.environ.get(MULTIPROC_ENV)
    own_dir = metrics_dir is None
    if own_dir:
        metrics_dir = tempfile.mkdtemp(prefix="bigip-lbaas-api-metrics-")
        os.environ[MULTIPROC_ENV] = metrics_dir
    config = uvicorn.Config(factory, factory=True, workers=workers,
                            **common)  # type: ignore[arg-type]
    LOG.info("starting API workers", extra={"action": "api_workers", "workers": workers})
    try:
        sock = config.bind_socket()
        try:
            Multiprocess(config, sockets=[sock]).run()
        finally:
            sock.close()
    finally:
        if own_dir and metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def worker_spec() -> dict[str, Any]:
    """In a worker: what the parent read (`config_files`, `config_dir`) and how it logs
    (`log_format`, `debug`)."""
    spec: dict[str, Any] = json.loads(os.environ[WORKER_ENV])
    return spec


def worker_app(conf: cfg.ConfigOpts) -> ASGIApp:
    """The app of one worker process, with a database engine of its own."""
    app = asgi_app(conf, Database(str(conf.database.connection)))
    settle_gc()
    return app


# Objects the youngest generation holds before a collection (CPython's default is 700).
GC_YOUNG_THRESHOLD = 20_000


def settle_gc() -> None:
    """Keep the cyclic garbage collector's full passes out of request latency.

    A full (generation 2) pass stops every thread while it walks every tracked object: the
    modules, the app, SQLAlchemy's mappers and, after some traffic, its statement caches, about
    230,000 objects here. Measured on the API at 16 clients creating load balancers (PostgreSQL,
    `bench/octavia_side_by_side.py`, collector callbacks timing each pass), CPython's default
    thresholds ran a full pass every ~150 creates, each 50-135 ms with every request in flight
    waiting: that was much of the p95-p99. So the objects that exist once the app is built are
    frozen out of every pass (`gc.freeze`, for long-lived servers), and the youngest generation
    is collected after 20,000 allocations instead of 700, so that a request's own short-lived
    cycles mostly die young instead of being promoted into the generations a full pass walks. In
    the same runs no full pass ran, and young passes took a few ms."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
