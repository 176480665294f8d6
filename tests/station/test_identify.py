"""Kit store and the typed-number fallback: one mark per voter, the refusal says when, where and how."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from station.errors import StoreError, VoterListError
from station.identify import FallbackReason, Outcome, identify_manual, voter_ref
from station.store import IdentificationRecord, KitStore, OutboxMessage, Voter
from station.voter_list import load_voters, parse_csv

LIST = """personal_number,list_number,surname,given_name,patronymic,sex,birth_date
21203198012345,1,Асанов,Бакыт,Талантович,M,1980-03-12
11507199254321,2,Иванова,Мария,Петровна,F,1992-07-15
"""


@pytest.fixture
def store(tmp_path: Path) -> KitStore:
    csv_path = tmp_path / "list.csv"
    csv_path.write_text(LIST, encoding="utf-8")
    kit = KitStore(tmp_path / "kit.db")
    kit.set_kit_info("e-2026", "3152", "1")
    load_voters(kit, parse_csv(csv_path))
    return kit


def test_identify_commits_mark_and_outbox_message_together(store: KitStore) -> None:
    result = identify_manual(store, "21203198012345", FallbackReason.WORN_PRINTS, "op1", "chair")
    assert result.outcome is Outcome.IDENTIFIED
    with store.transaction() as session:
        marks = session.scalars(select(IdentificationRecord)).all()
        outbox = session.scalars(select(OutboxMessage)).all()
    assert len(marks) == 1 and len(outbox) == 1
    assert marks[0].seq == outbox[0].seq == 1
    message = json.loads(outbox[0].payload)
    assert message["voter_ref"] == voter_ref("e-2026", "21203198012345")
    assert "21203198012345" not in outbox[0].payload.decode()
    assert message["path"] == "manual" and message["sex"] == "M"


def test_second_identification_is_refused_with_when_where_how(store: KitStore) -> None:
    first = identify_manual(store, "21203198012345", FallbackReason.INJURY, "op1", "chair")
    second = identify_manual(store, "21203198012345", FallbackReason.INJURY, "op2", "chair")
    assert second.outcome is Outcome.ALREADY_VOTED
    assert second.record is not None and first.record is not None
    assert second.record.identified_at == first.record.identified_at
    assert "ALREADY VOTED" in second.describe() and "kit 1" in second.describe() and "manual" in second.describe()
    assert len(store.pending(100)) == 1


def test_unknown_voter_is_not_on_list(store: KitStore) -> None:
    assert identify_manual(store, "29999999999999", FallbackReason.INJURY, "op", "chair").outcome is Outcome.NOT_ON_LIST


def test_typed_fallback_needs_a_second_member(store: KitStore) -> None:
    with pytest.raises(ValueError, match="second commission member"):
        identify_manual(store, "21203198012345", FallbackReason.INJURY, "op1", "op1")


def test_bad_list_is_refused_and_old_list_stays(store: KitStore, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(LIST.replace("21203198012345", "2120319801234X"), encoding="utf-8")
    with pytest.raises(VoterListError, match="bad.csv:2"):
        load_voters(store, parse_csv(bad))
    with store.transaction() as session:
        assert len(session.scalars(select(Voter)).all()) == 2


def test_list_cannot_be_replaced_after_voting_started(store: KitStore, tmp_path: Path) -> None:
    identify_manual(store, "11507199254321", FallbackReason.NO_FINGERPRINTS, "op1", "chair")
    good = tmp_path / "good.csv"
    good.write_text(LIST, encoding="utf-8")
    with pytest.raises(VoterListError, match="already identified"):
        load_voters(store, parse_csv(good))


def test_outbox_delivery_is_recorded(store: KitStore) -> None:
    identify_manual(store, "21203198012345", FallbackReason.INJURY, "op1", "chair")
    identify_manual(store, "11507199254321", FallbackReason.INJURY, "op1", "chair")
    assert [e.seq for e in store.pending(10)] == [1, 2]
    store.mark_delivered([1])
    assert [e.seq for e in store.pending(10)] == [2]


def test_store_of_another_station_is_refused(store: KitStore) -> None:
    with pytest.raises(StoreError, match="belongs to election"):
        store.set_kit_info("e-2026", "9999", "1")
