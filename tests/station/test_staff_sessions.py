"""Poll-worker PINs (hashed, unique) and the idle lock of screen sessions."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from station.errors import PermissionDenied, StationError
from station.staff import Role, add_worker, find_by_pin, require_supervisor
from station.store import KitStore, Worker
from station.ui.sessions import Sessions


def test_pins_are_hashed_unique_and_roles_enforced(kit: KitStore) -> None:
    add_worker(kit, "op1", "Айгүл", Role.OPERATOR, "1234")
    add_worker(kit, "chair", "Бакыт", Role.SUPERVISOR, "987654")
    with pytest.raises(StationError, match="another worker"):
        add_worker(kit, "op2", "Нурлан", Role.OPERATOR, "1234")
    with pytest.raises(StationError, match="4 to 8 digits"):
        add_worker(kit, "op3", "Эрлан", Role.OPERATOR, "12a4")
    with kit.transaction() as session:
        stored = session.scalars(select(Worker)).all()
    assert all(b"1234" not in w.pin_hash and len(w.pin_hash) == 32 for w in stored)
    op = find_by_pin(kit, "1234")
    chair = find_by_pin(kit, "987654")
    assert op is not None and op.id == "op1" and chair is not None and find_by_pin(kit, "0000") is None
    require_supervisor(chair)
    with pytest.raises(PermissionDenied, match="chair or a supervisor"):
        require_supervisor(op)


def test_session_locks_when_idle_but_not_from_status_polling() -> None:
    sessions = Sessions(lock_after_s=0.3)
    token = sessions.open("op1", "Айгүл", "operator")
    assert sessions.get(token) is not None
    time.sleep(0.2)
    assert sessions.get(token, touch=False) is not None  # polling does not keep it alive...
    time.sleep(0.15)
    assert sessions.get(token) is None  # ...so 0.35 s after the last real action it is locked
    assert sessions.get(token) is None and sessions.get(None) is None
