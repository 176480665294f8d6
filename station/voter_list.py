"""Loading a station's voter list into the kit's store.

This reads the plain development format (CSV: personal_number, list_number, surname, given_name, patronymic, sex,
birth_date); the signed, encrypted station list package built by the CEC replaces it on real kits.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from station.errors import VoterListError
from station.store import IdentificationRecord, KitStore, Voter, VoterBiometrics

PIN_RE = re.compile(r"^[12][0-9]{13}$")
REQUIRED_COLUMNS = ("personal_number", "list_number", "surname", "given_name", "patronymic", "sex", "birth_date")


def parse_csv(path: Path) -> list[Voter]:
    """Read and validate every row; raises :class:`VoterListError` naming the first bad line."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise VoterListError(f"{path}: missing columns {', '.join(missing)}")
            voters: list[Voter] = []
            seen: set[str] = set()
            for line_no, row in enumerate(reader, start=2):
                voters.append(_voter(row, path, line_no, seen))
    except (OSError, UnicodeDecodeError) as exc:
        raise VoterListError(f"cannot read voter list {path}: {exc}") from exc
    if not voters:
        raise VoterListError(f"{path}: the list is empty")
    return voters


def _voter(row: dict[str, str], path: Path, line_no: int, seen: set[str]) -> Voter:
    where = f"{path}:{line_no}"
    pin = row["personal_number"].strip()
    if not PIN_RE.match(pin):
        raise VoterListError(f"{where}: personal number {pin!r} is not 14 digits starting with 1 or 2")
    if pin in seen:
        raise VoterListError(f"{where}: personal number {pin} appears twice")
    seen.add(pin)
    sex = row["sex"].strip().upper()
    if sex not in ("F", "M"):
        raise VoterListError(f"{where}: sex must be F or M")
    try:
        birth = date.fromisoformat(row["birth_date"].strip())
        list_number = int(row["list_number"])
    except ValueError as exc:
        raise VoterListError(f"{where}: {exc}") from exc
    return Voter(
        personal_number=pin,
        list_number=list_number,
        surname=row["surname"].strip(),
        given_name=row["given_name"].strip(),
        patronymic=row["patronymic"].strip(),
        sex=sex,
        birth_date=birth,
    )


def refuse_if_voting_started(session: Session) -> None:
    """Raise :class:`VoterListError` when this store holds any identification (a list is never replaced then)."""
    marks = session.scalar(select(func.count()).select_from(IdentificationRecord)) or 0
    if marks:
        raise VoterListError(f"{marks} voters are already identified on this kit; the list cannot be replaced")


def load_voters(store: KitStore, voters: list[Voter]) -> int:
    """Replace the store's list with ``voters`` in one transaction; refused once identifications exist.

    Replacing a list under recorded identifications would orphan them, so a kit that has started voting keeps its
    list (the parsed new list is validated first, so a bad file never touches the old one).
    """
    with store.transaction() as session:
        refuse_if_voting_started(session)
        session.execute(delete(VoterBiometrics))
        session.execute(delete(Voter))
        session.add_all(voters)
    return len(voters)
