"""The kit's store schema is versioned: a store written by the previous software (schema version 1, fixture dumped
from commit d0090dd) is upgraded in place on open, keeps every voter, mark, audit entry and outbox message, and then
works like a fresh store; a newer store is refused; a failing step leaves the file at its old version."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from station import store_upgrades
from station.audit import verify_log
from station.errors import StoreError
from station.identify import FallbackReason, Outcome, identify_manual
from station.list_package import unseal_biometrics
from station.signing import public_from_hex
from station.store import (
    AuditEntry,
    IdentificationRecord,
    KitStore,
    OutboxMessage,
    Voter,
    VoterBiometrics,
    Worker,
)
from tests.station.conftest import ELECTION, STATION

FIXTURES = Path(__file__).parent / "fixtures"
PINS = ["20000319801234", "20010319801234", "20020319801234"]


def _v1_store(folder: Path) -> Path:
    """The schema-1 store as the previous software left it (5 voters, 2 marks, a worker, an FTA), with its key."""
    db = folder / "kit.db"
    with sqlite3.connect(db) as con:
        con.executescript((FIXTURES / "kit_store_v1.sql").read_text(encoding="utf-8"))
    key = folder / "kit.db.signing.key"
    shutil.copy(FIXTURES / "kit_store_v1.signing.key", key)
    os.chmod(key, 0o600)
    return db


def _schema(db: Path) -> dict[str, object]:
    """Every table's columns (name, type, not null, default, pk) and indexes, as SQLite reports them."""
    with sqlite3.connect(db) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        out: dict[str, object] = {}
        for t in tables:
            out[t] = [r[1:] for r in con.execute(f"PRAGMA table_info({t})")]
            out[t + ":indexes"] = sorted((r[1], r[2]) for r in con.execute(f"PRAGMA index_list({t})"))
    return out


def _version(db: Path) -> int | None:
    with sqlite3.connect(db) as con:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_version'").fetchone():
            return None
        return int(con.execute("SELECT version FROM schema_version").fetchone()[0])


def test_fresh_store_is_at_the_current_version(tmp_path: Path) -> None:
    store = KitStore(tmp_path / "kit.db")
    assert store.schema_upgrade == (store_upgrades.SCHEMA_VERSION, store_upgrades.SCHEMA_VERSION)
    store.close()
    assert _version(tmp_path / "kit.db") == store_upgrades.SCHEMA_VERSION == 2


def test_previous_schema_is_upgraded_and_keeps_its_data(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    db = _v1_store(tmp_path / "old")
    store = KitStore(db)
    assert store.schema_upgrade == (1, 2)
    info = store.kit_info()
    assert (info.election_id, info.station_id, info.kit_id) == (ELECTION, STATION, "1")
    with store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Voter)) == 5
        marks = list(session.scalars(select(IdentificationRecord).order_by(IdentificationRecord.id)))
        assert [m.personal_number for m in marks] == PINS[:2] and all(m.active for m in marks)
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
        assert session.get(Worker, "op1") is not None
        sealed = session.get(VoterBiometrics, PINS[0])
        assert sealed is not None
    list_key = bytes.fromhex((FIXTURES / "kit_store_v1.list.key").read_text().strip())
    assert unseal_biometrics(list_key, ELECTION, STATION, PINS[0], sealed.nonce, sealed.sealed).templates
    # The audit chain written before the upgrade still verifies with the kit's key, and grows on after it.
    public = public_from_hex(info.public_key)
    assert verify_log(store, public).ok
    again = identify_manual(store, PINS[0], FallbackReason.INJURY, "op1", "chair")
    assert again.outcome is Outcome.ALREADY_VOTED  # the marks made before the upgrade still refuse a second vote
    new = identify_manual(store, PINS[2], FallbackReason.INJURY, "op1", "chair")
    assert new.outcome is Outcome.IDENTIFIED and new.record is not None and new.record.seq == 3
    report = verify_log(store, public)
    assert report.ok, report.problems
    with store.transaction() as session:
        assert session.scalar(select(func.max(AuditEntry.seq))) == report.entries
    store.close()
    # Same tables, columns and indexes as a store made fresh by this software.
    fresh = KitStore(tmp_path / "fresh.db")
    fresh.close()
    assert _schema(db) == _schema(tmp_path / "fresh.db")
    # Opening again upgrades nothing.
    reopened = KitStore(db)
    assert reopened.schema_upgrade == (2, 2)
    reopened.close()


def test_store_of_newer_software_is_refused_untouched(tmp_path: Path) -> None:
    KitStore(tmp_path / "kit.db").close()
    with sqlite3.connect(tmp_path / "kit.db") as con:
        con.execute("UPDATE schema_version SET version = 7")
    before = _schema(tmp_path / "kit.db")
    with pytest.raises(StoreError, match="newer software .schema version 7"):
        KitStore(tmp_path / "kit.db")
    assert _schema(tmp_path / "kit.db") == before and _version(tmp_path / "kit.db") == 7


def test_failed_upgrade_step_leaves_the_old_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = _v1_store(tmp_path)
    before = _schema(db)

    def broken(conn: Connection) -> None:
        store_upgrades._v2_search_gallery(conn)
        store_upgrades._v2_search_gallery(conn)  # fails half-way through the step: the table exists already

    monkeypatch.setitem(store_upgrades.STEPS, 2, broken)
    with pytest.raises(StoreError, match="could not be upgraded to schema version 2.*left as it was"):
        KitStore(db)
    assert _schema(db) == before and _version(db) is None
    monkeypatch.undo()
    assert KitStore(db).schema_upgrade == (1, 2)
