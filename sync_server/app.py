"""Run the whole CEC server in one process: the ZeroMQ ingest thread and the HTTP server share one database."""

from __future__ import annotations

import logging

import uvicorn

from sync_server.api import create_app
from sync_server.config import ServerSettings
from sync_server.db import init_schema, make_engine, make_sessionmaker
from sync_server.ingest import start_ingest_thread

log = logging.getLogger(__name__)


def serve(settings: ServerSettings) -> None:
    """Start ingest and HTTP; returns when the HTTP server stops (Ctrl-C or SIGTERM)."""
    engine = make_engine(settings.database_url)
    init_schema(engine)
    sessions = make_sessionmaker(engine)
    loop, thread = start_ingest_thread(settings.zmq_endpoint, sessions)
    log.info("ingest listening on %s", loop.endpoint)
    print(f"CEC server: dashboard and API at http://{settings.http_host}:{settings.http_port}/", flush=True)
    print(f"CEC server: kits connect to {loop.endpoint}", flush=True)
    try:
        uvicorn.run(
            create_app(sessions), host=settings.http_host, port=settings.http_port, log_level="warning"
        )
    finally:
        loop.stop()
        thread.join(timeout=5)
        engine.dispose()
