"""Server settings, from the environment (``SHAILOO_SERVER_*``) or the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSettings:
    """Where the server stores data and listens.

    ``database_url`` is a SQLAlchemy URL: ``sqlite:///path/cec.db`` by default (the demo), ``postgresql+psycopg://...``
    in production.
    """

    database_url: str = "sqlite:///var/cec.db"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    zmq_endpoint: str = "tcp://127.0.0.1:5570"

    @classmethod
    def from_env(cls) -> ServerSettings:
        """Settings from ``SHAILOO_SERVER_DATABASE_URL``, ``_HTTP_HOST``, ``_HTTP_PORT``, ``_ZMQ_ENDPOINT``."""
        default = cls()
        return cls(
            database_url=os.environ.get("SHAILOO_SERVER_DATABASE_URL", default.database_url),
            http_host=os.environ.get("SHAILOO_SERVER_HTTP_HOST", default.http_host),
            http_port=int(os.environ.get("SHAILOO_SERVER_HTTP_PORT", default.http_port)),
            zmq_endpoint=os.environ.get("SHAILOO_SERVER_ZMQ_ENDPOINT", default.zmq_endpoint),
        )
