"""Run the whole CEC server in one process: the ZeroMQ ingest thread and the HTTP server share one database."""

from __future__ import annotations

import logging

import uvicorn

from sync_server.api import create_app
from sync_server.config import ServerSettings
from sync_server.db import make_engine, make_sessionmaker, migrate
from sync_server.ingest import IngestLoop, MultiFrontIngest, start_ingest_thread
from sync_server.keys import ensure_server_keys

log = logging.getLogger(__name__)


def serve(settings: ServerSettings) -> None:
    """Migrate the schema, start ingest and HTTP; returns when the HTTP server stops (Ctrl-C or SIGTERM)."""
    keys = ensure_server_keys(settings.keys_dir)
    engine = make_engine(settings.database_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    ingest: IngestLoop | MultiFrontIngest
    if settings.ingest_fronts > 1:
        ingest = MultiFrontIngest(settings.zmq_endpoint, settings.ingest_fronts, sessions, settings.database_url,
                                  settings.keys_dir, settings.election_mode)
        ingest.start()
        endpoints = ingest.endpoints
    else:
        ingest, thread = start_ingest_thread(settings.zmq_endpoint, sessions, keys, settings.election_mode)
        endpoints = [ingest.endpoint]
    log.info("ingest listening on %s (CURVE, server key %s)", ", ".join(endpoints), keys.curve.public)
    print(f"CEC server: dashboard and API at http://{settings.http_host}:{settings.http_port}/", flush=True)
    print(f"CEC server: kits connect to {', '.join(endpoints)}", flush=True)
    try:
        uvicorn.run(
            create_app(sessions, settings, keys, ingest.stats),
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
            # The live page holds a push stream open; do not wait for it on shutdown.
            timeout_graceful_shutdown=2,
        )
    finally:
        ingest.stop()
        if isinstance(ingest, IngestLoop):
            thread.join(timeout=5)
        engine.dispose()
