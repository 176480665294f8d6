"""Server settings, from the environment (``SHAILOO_SERVER_*``) or the command line.

Outside development the settings refuse default secrets (the bootstrap admin token) and an election mode other than
``real`` or ``training``, as the full-stack FastAPI template's settings do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sync_server.errors import SettingsError

#: The bootstrap administrator token of development and demos; refused in any other environment.
DEV_ADMIN_TOKEN = "dev-admin-token"
ENVIRONMENTS = ("development", "production")
#: ``real``: training kits' keys and training events are refused. ``training``: a rehearsal, everything accepted.
ELECTION_MODES = ("real", "training")


@dataclass(frozen=True)
class ServerSettings:
    """Where the server stores data and listens, and its secrets.

    ``database_url`` is a SQLAlchemy URL: ``sqlite:///path/cec.db`` by default (the demo), ``postgresql+psycopg://...``
    in production. ``keys_dir`` holds the server's CURVE key pair and the open-data signing key (created on first use).
    """

    database_url: str = "sqlite:///var/cec.db"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    zmq_endpoint: str = "tcp://127.0.0.1:5570"
    #: Ingest front processes; front i listens on zmq_endpoint's port + i (1: one front thread in the server).
    ingest_fronts: int = 1
    keys_dir: Path = field(default_factory=lambda: Path("var/cec-keys"))
    environment: str = "development"
    election_mode: str = "real"
    admin_token: str = DEV_ADMIN_TOKEN
    #: Local opening hours of the stations (07:00 to 20:00 Bishkek time), for the outside-hours anomaly.
    opening_hour: int = 7
    closing_hour: int = 20

    def __post_init__(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise SettingsError(f"environment must be one of {ENVIRONMENTS}, got {self.environment!r}")
        if not 1 <= self.ingest_fronts <= 64:
            raise SettingsError(f"ingest fronts must be 1 to 64, got {self.ingest_fronts}")
        if self.election_mode not in ELECTION_MODES:
            raise SettingsError(f"election mode must be one of {ELECTION_MODES}, got {self.election_mode!r}")
        if self.environment != "development":
            if self.admin_token == DEV_ADMIN_TOKEN or len(self.admin_token) < 24:
                raise SettingsError(
                    "refusing the default or a short admin token outside development: set "
                    "SHAILOO_SERVER_ADMIN_TOKEN to a random string of at least 24 characters"
                )
            if self.database_url.startswith("sqlite") and "var/cec.db" in self.database_url:
                raise SettingsError("refusing the demo database outside development: set SHAILOO_SERVER_DATABASE_URL")

    @classmethod
    def from_env(cls) -> ServerSettings:
        """Settings from ``SHAILOO_SERVER_DATABASE_URL``, ``_HTTP_HOST``, ``_HTTP_PORT``, ``_ZMQ_ENDPOINT``,
        ``_INGEST_FRONTS``, ``_KEYS_DIR``, ``_ENVIRONMENT``, ``_ELECTION_MODE``, ``_ADMIN_TOKEN``."""
        default = cls()
        env = os.environ.get
        return cls(
            database_url=env("SHAILOO_SERVER_DATABASE_URL", default.database_url),
            http_host=env("SHAILOO_SERVER_HTTP_HOST", default.http_host),
            http_port=int(env("SHAILOO_SERVER_HTTP_PORT", str(default.http_port))),
            zmq_endpoint=env("SHAILOO_SERVER_ZMQ_ENDPOINT", default.zmq_endpoint),
            ingest_fronts=int(env("SHAILOO_SERVER_INGEST_FRONTS", str(default.ingest_fronts))),
            keys_dir=Path(env("SHAILOO_SERVER_KEYS_DIR", str(default.keys_dir))),
            environment=env("SHAILOO_SERVER_ENVIRONMENT", default.environment),
            election_mode=env("SHAILOO_SERVER_ELECTION_MODE", default.election_mode),
            admin_token=env("SHAILOO_SERVER_ADMIN_TOKEN", default.admin_token),
        )
