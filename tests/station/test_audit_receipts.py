"""The signed, hash-chained audit log and the signed receipts: alterations are detected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text

from station.audit import verify_log
from station.counters import counters
from station.errors import StationError, WorkflowError
from station.identify import FallbackReason, Outcome, identify_manual, mark, record_print, undo
from station.identify import Path as IdPath
from station.list_package import load_cec_public, load_list_key, load_package
from station.receipts import ReceiptKind, make_receipt, verify_receipt_payload
from station.store import AuditEntry, IdentificationRecord, KitStore
from station.workflow.refusals import record_refused_card
from tests.station.conftest import national_list

PINS = [v.personal_number for v in national_list() if v.station_id == "3152"]


@pytest.fixture
def loaded(kit: KitStore, package: bytes, cec_keys: dict[str, Path]) -> KitStore:
    load_package(kit, package, load_cec_public(cec_keys["public"]), load_list_key(cec_keys["list"]))
    return kit


def _some_activity(kit: KitStore) -> None:
    identify_manual(kit, PINS[0], FallbackReason.WORN_PRINTS, "op1", "chair", mobile=True)  # a home voter
    mark(kit, PINS[1], IdPath.CARD_FINGER, "op1", score=0.93)
    mark(kit, PINS[2], IdPath.FINGER, "op1", score=0.88)


def test_log_verifies_and_each_kind_of_tampering_is_found(loaded: KitStore) -> None:
    _some_activity(loaded)
    public = loaded.signing_key().public_key()
    report = verify_log(loaded, public)
    assert report.ok and report.entries == 4  # list_loaded + 3 identifications
    with loaded.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET body = replace(body, 'worn_prints', 'injury') WHERE seq = 2"))
    assert any("altered" in p for p in verify_log(loaded, public).problems)
    with loaded.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET body = replace(body, 'injury', 'worn_prints') WHERE seq = 2"))
    assert verify_log(loaded, public).ok
    with loaded.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == 3))
    problems = verify_log(loaded, public).problems
    assert any("missing" in p for p in problems) and any("no audit entry" in p for p in problems)


def test_deleted_identification_and_foreign_key_are_detected(loaded: KitStore, tmp_path: Path) -> None:
    _some_activity(loaded)
    with loaded.transaction() as session:
        session.execute(delete(IdentificationRecord).where(IdentificationRecord.personal_number == PINS[1]))
    assert any("missing from the store" in p for p in verify_log(loaded, loaded.signing_key().public_key()).problems)
    other = KitStore(tmp_path / "other.db")
    other.set_kit_info("e-2026", "3152", "2")
    report = verify_log(loaded, other.signing_key().public_key())
    assert sum("signature does not verify" in p for p in report.problems) == report.entries


def test_undo_and_reprint_are_logged_and_counted(loaded: KitStore) -> None:
    _some_activity(loaded)
    first = identify_manual(loaded, PINS[0], FallbackReason.INJURY, "op2", "chair")
    assert first.outcome is Outcome.ALREADY_VOTED and first.record is not None
    with pytest.raises(WorkflowError, match="reason"):
        undo(loaded, first.record.id, "chair", " ")
    undo(loaded, first.record.id, "chair", "wrong voter selected")
    again = identify_manual(loaded, PINS[0], FallbackReason.INJURY, "op2", "chair", mobile=True)
    assert again.outcome is Outcome.IDENTIFIED and again.record is not None
    record_print(loaded, again.record.id, ok=False, reprint=False, by="op2", error="paper out")
    record_print(loaded, again.record.id, ok=True, reprint=True, by="chair")
    c = counters(loaded)
    assert c.identified == 3 and c.undone == 1 and c.reprints == 1 and c.mobile == 1
    assert c.by_path == {"manual": 1, "card_finger": 1, "finger": 1}
    assert c.manual_by_reason == {"injury": 1}
    with loaded.transaction() as session:
        kinds = [e.kind for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
    assert kinds[-4:] == ["undone", "identified", "print", "reprint"]
    assert verify_log(loaded, loaded.signing_key().public_key()).ok


def test_supervisor_override_is_flagged(loaded: KitStore) -> None:
    _some_activity(loaded)
    with pytest.raises(WorkflowError, match="no earlier mark"):
        mark(loaded, PINS[3], IdPath.MANUAL, "op1", override_by="chair", override_reason="x")
    result = mark(loaded, PINS[1], IdPath.CARD_FINGER, "op1", override_by="chair", override_reason="twin confusion")
    assert result.outcome is Outcome.IDENTIFIED and result.record is not None and result.record.override
    payload = json.loads(loaded.pending(10)[-1].payload)
    assert payload["override"] is True
    c = counters(loaded)
    assert c.overrides == 1 and c.identified == 3


def test_receipts_sign_counters_and_opening_needs_zero(loaded: KitStore) -> None:
    opening = make_receipt(loaded, ReceiptKind.OPENING)
    assert opening.payload["counters"]["identified"] == 0
    _some_activity(loaded)
    with pytest.raises(StationError, match="opening receipt"):
        make_receipt(loaded, ReceiptKind.OPENING)
    closing = make_receipt(loaded, ReceiptKind.CLOSING)
    qr = closing.qr_text()
    body = verify_receipt_payload(qr, expected_key_hex=loaded.kit_info().public_key)
    assert body["counters"]["identified"] == 3 and body["counters"]["by_sex"] == {"F": 2, "M": 1}
    forged = qr.replace('"identified":3', '"identified":4')
    with pytest.raises(StationError, match="altered"):
        verify_receipt_payload(forged)
    assert any("Station total" in line for line in closing.lines())
    assert verify_log(loaded, loaded.signing_key().public_key()).ok


def test_refused_cards_are_counted_on_the_receipt(loaded: KitStore) -> None:
    record_refused_card(loaded, "card", "DG1 hash does not match the signed SOD", cloned=False, document_number="ID123")
    record_refused_card(loaded, "card", "active authentication failed", cloned=True)
    c = counters(loaded)
    assert c.cards_refused == 2 and c.failure_to_acquire == 0 and c.failure_to_match == 0
    closing = make_receipt(loaded, ReceiptKind.CLOSING)
    assert closing.payload["counters"]["cards_refused"] == 2
    assert "ID cards refused (forged or copied chip): 2" in closing.lines()
    assert verify_log(loaded, loaded.signing_key().public_key()).ok


def test_mobile_ballot_box_only_for_home_voters_and_counted_apart(loaded: KitStore) -> None:
    home = next(v for v in national_list() if v.station_id == "3152" and v.home_voting)
    other = next(v for v in national_list() if v.station_id == "3152" and not v.home_voting)
    with pytest.raises(WorkflowError, match="home-voting list"):
        identify_manual(loaded, other.personal_number, FallbackReason.INJURY, "op", "chair", mobile=True)
    result = identify_manual(loaded, home.personal_number, FallbackReason.INJURY, "op", "chair", mobile=True)
    assert result.outcome is Outcome.IDENTIFIED
    c = counters(loaded)
    assert c.mobile == 1 and c.identified == 1


def test_hourly_receipts_follow_the_local_hour(loaded: KitStore) -> None:
    from datetime import UTC, datetime

    from station.gallery import Gallery
    from station.runtime import KitRuntime

    kit = KitRuntime(loaded, Gallery(loaded, None))
    t = datetime(2026, 11, 29, 2, 5, tzinfo=UTC)  # 08:05 in Bishkek
    assert kit.maybe_hourly_receipt(t) is None  # not opened yet
    make_receipt(loaded, ReceiptKind.OPENING, now=t)
    assert kit.maybe_hourly_receipt(t.replace(minute=50)) is None  # same hour
    _some_activity(loaded)
    hourly = kit.maybe_hourly_receipt(t.replace(hour=3, minute=0, second=10))  # 09:00:10 local
    assert hourly is not None and hourly.payload["counters"]["identified"] == 3
    assert kit.maybe_hourly_receipt(t.replace(hour=3, minute=30)) is None  # once per hour
    assert kit.maybe_hourly_receipt(t.replace(hour=4, minute=1)) is not None
