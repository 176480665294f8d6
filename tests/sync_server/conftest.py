"""Server test fixtures: every database test runs on SQLite (a file in tmp) and on a real PostgreSQL server started
once per session in a temporary folder (sync_server.testing.postgres)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sync_server.in_process import InProcessServer
from sync_server.testing.postgres import PostgresUnavailable, TempPostgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[TempPostgres]:
    """One throwaway PostgreSQL server for the whole session."""
    try:
        server = TempPostgres()
        server.start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cec.db'}"
    pg: TempPostgres = request.getfixturevalue("postgres")
    return pg.new_database()


@pytest.fixture
def cec(db_url: str, tmp_path: Path) -> Iterator[InProcessServer]:
    """A CEC ingest on ``db_url`` with a synthetic registry (20 stations per region), started."""
    server = InProcessServer(db_url, tmp_path / "keys")
    server.start()
    yield server
    server.close()
