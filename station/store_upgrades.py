"""Upgrades of the kit's SQLite schema: a version number in the store and one upgrade step per version.

A kit may get new software in the middle of an election cycle, with its list loaded or even after voting opened. Its
store is then opened by code that expects a newer schema; the steps below bring the file forward in place, in one
transaction (SQLite's DDL is transactional), so every identification, audit entry and outbox message stays as it was,
and a failed step leaves the file at its old version. A store written by *newer* software is refused, never
downgraded. Steps are plain SQL, frozen when written: they must not follow later edits of the models.

Versions:

1. the schema kits wrote before versioning (no ``schema_version`` table; commit d0090dd);
2. ``search_gallery``: the packed 1:N gallery carried by the station list package, and ``schema_version`` itself.

Adding a version: append its step to :data:`STEPS`, bump nothing else (``SCHEMA_VERSION`` follows), and let
``tests/station/test_store_upgrades.py`` compare the upgraded file with a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, MetaData, inspect, text
from sqlalchemy.exc import DBAPIError

from station.errors import StoreError


def _v2_search_gallery(conn: Connection) -> None:
    conn.exec_driver_sql(
        "CREATE TABLE search_gallery (id INTEGER NOT NULL, format INTEGER NOT NULL, parameters VARCHAR(32) NOT NULL, "
        "templates INTEGER NOT NULL, list_digest VARCHAR(64) NOT NULL, nonce BLOB NOT NULL, sealed BLOB NOT NULL, "
        "PRIMARY KEY (id))"
    )


#: Step that brings a store from version ``n - 1`` to ``n``, by ``n``.
STEPS: dict[int, Callable[[Connection], None]] = {2: _v2_search_gallery}
#: The schema version this software writes.
SCHEMA_VERSION = max(STEPS)
_VERSION_DDL = "CREATE TABLE schema_version (id INTEGER NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (id))"


def stored_version(conn: Connection) -> int | None:
    """The schema version of the file behind ``conn``: None when it is empty, 1 when it predates versioning."""
    tables = set(inspect(conn).get_table_names())
    if not tables:
        return None
    if "schema_version" not in tables:
        return 1
    found = conn.execute(text("SELECT version FROM schema_version WHERE id = 1")).scalar()
    if found is None:
        raise StoreError("the kit's store has an empty schema_version table: it was damaged; call the technician")
    return int(found)


def upgrade(engine: Engine, metadata: MetaData) -> tuple[int, int]:
    """Create the schema in an empty file, or upgrade an older one step by step; returns (found, now).

    Runs in one write transaction (``BEGIN IMMEDIATE``), so two processes opening the same store at once upgrade it
    once. Afterwards every table and column of ``metadata`` must exist in the file, or the software is refused (a
    model was changed without an upgrade step).
    """
    try:
        return _upgrade(engine, metadata)
    except DBAPIError as exc:
        raise StoreError(
            f"the kit's store could not be upgraded to schema version {SCHEMA_VERSION} ({exc.orig}); it was left as "
            "it was: free disk space and start again, or call the technician"
        ) from exc


def _upgrade(engine: Engine, metadata: MetaData) -> tuple[int, int]:
    with engine.begin() as conn:
        found = stored_version(conn)
        if found is None:
            metadata.create_all(conn)
            conn.execute(text("INSERT INTO schema_version (id, version) VALUES (1, :v)"), {"v": SCHEMA_VERSION})
            return SCHEMA_VERSION, SCHEMA_VERSION
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"the kit's store was written by newer software (schema version {found}, this software knows up to "
                f"{SCHEMA_VERSION}): install that software version again, do not downgrade a kit during an election"
            )
        if found == 1:
            conn.exec_driver_sql(_VERSION_DDL)
            conn.execute(text("INSERT INTO schema_version (id, version) VALUES (1, 1)"))
        for version in range(found + 1, SCHEMA_VERSION + 1):
            STEPS[version](conn)
            conn.execute(text("UPDATE schema_version SET version = :v WHERE id = 1"), {"v": version})
        missing = _missing_columns(conn, metadata)
        if missing:
            raise StoreError(
                f"the kit's store lacks {', '.join(missing)} after its upgrade to schema version {SCHEMA_VERSION}: "
                "this software is inconsistent (a missing upgrade step); keep the store and call the technician"
            )
    return found, SCHEMA_VERSION


def _missing_columns(conn: Connection, metadata: MetaData) -> list[str]:
    inspector = inspect(conn)
    present = set(inspector.get_table_names())
    missing = []
    for table in metadata.sorted_tables:
        if table.name not in present:
            missing.append(table.name)
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in have]
    return missing
