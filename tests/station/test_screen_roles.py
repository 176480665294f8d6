"""The screen's rules over HTTP (FastAPI's test client, same app as served): roles, supervisor override and undo,
and the typed path's second member."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from station.gallery import Gallery
from station.list_package import load_cec_public, load_list_key, load_package
from station.runtime import KitRuntime
from station.staff import Role, add_worker
from station.store import KitStore
from station.ui.app import create_app
from tests.station.conftest import STATION, national_list

PINS = [v.personal_number for v in national_list() if v.station_id == STATION]


@pytest.fixture
def app_kit(kit: KitStore, package: bytes, cec_keys: dict[str, Path]) -> tuple[TestClient, KitRuntime]:
    load_package(kit, package, load_cec_public(cec_keys["public"]), load_list_key(cec_keys["list"]))
    add_worker(kit, "op1", "Айгүл", Role.OPERATOR, "1111")
    add_worker(kit, "m2", "Нурлан", Role.OPERATOR, "2222")
    add_worker(kit, "chair", "Бакыт", Role.SUPERVISOR, "9999")
    runtime = KitRuntime(kit, Gallery(kit, None))
    return TestClient(create_app(runtime)), runtime


def _login(client: TestClient, pin: str) -> None:
    client.cookies.clear()
    client.post("/login", data={"pin": pin})


def _typed(client: TestClient, pin: str, second: str = "2222") -> str:
    client.post("/flow/start", data={"kind": "manual"})
    page = client.post("/flow/number", data={"pin": pin, "reason": "injury"}).text
    if 'data-state="confirm"' in page:
        page = client.post("/flow/confirm", data={"second_pin": second}).text
    return page


def test_login_required_and_operator_cannot_supervise(app_kit: tuple[TestClient, KitRuntime]) -> None:
    client, _ = app_kit
    assert client.get("/").url.path == "/login"
    assert "bad_pin" in str(client.post("/login", data={"pin": "0000"}).url)
    _login(client, "1111")
    assert client.get("/").url.path == "/"
    page = client.get("/supervisor")
    assert page.url.path == "/" and "need_supervisor" in str(page.url)
    assert "error=need_supervisor" in str(client.post("/supervisor/undo/1", data={"reason": "x"}).url)
    assert "error=need_supervisor" in str(client.post("/flow/override", data={"reason": "x"}).url)
    assert client.get("/api/status").json()["counters"]["identified"] == 0


def test_override_and_undo_by_the_chair_are_flagged_and_counted(app_kit: tuple[TestClient, KitRuntime]) -> None:
    client, runtime = app_kit
    _login(client, "1111")
    assert 'data-state="print_failed"' in _typed(client, PINS[1])  # no printer: identified, slip pending
    assert 'data-state="refused"' in _typed(client, PINS[1])
    assert 'id="override"' not in client.get("/flow").text  # operators do not see the override
    _login(client, "9999")
    _typed(client, PINS[1], second="2222")
    assert 'id="override"' in client.get("/flow").text
    assert "error=override_reason" in str(client.post("/flow/override", data={"reason": " "}).url)
    client.post("/flow/override", data={"reason": "voter shows the earlier mark was a neighbour's card"})
    c = runtime.counters()
    assert c.overrides == 1 and c.identified == 1
    record_id = runtime.recent()[0].id
    assert "error=undo_reason" in str(client.post(f"/supervisor/undo/{record_id}", data={"reason": ""}).url)
    assert "done=undo" in str(client.post(f"/supervisor/undo/{record_id}", data={"reason": "wrong voter"}).url)
    c = runtime.counters()
    assert c.undone == 1 and c.identified == 0
    page = client.get("/supervisor").text
    assert "inactive" in page


def test_second_member_must_be_another_worker(app_kit: tuple[TestClient, KitRuntime]) -> None:
    client, runtime = app_kit
    _login(client, "1111")
    page = _typed(client, PINS[2], second="1111")
    assert "error=second_member" in page or 'id="error"' in page
    assert runtime.counters().identified == 0
