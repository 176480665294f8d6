"""The screen's remaining rules over HTTP (FastAPI's test client on the served app): every state, notice, error and
device problem has plain-language text in Kyrgyz, Russian and English; PIN guessing is slowed; the language switches
in the middle of a voter without losing them; bad input is refused with a clear error; the status carries devices,
throughput and counters; a locked screen's API answers 401; the idle printer's paper-out shows without a print; a
full disk at confirm is told and the voter stays on screen."""

from __future__ import annotations

import ast
import re
import string
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from emulators.printer import PrinterEmulator
from station.devices.health import DeviceState, ErrorCode
from station.devices.printer import EscPosPrinter
from station.devices.profiles import load_printer_profile
from station.gallery import Gallery
from station.i18n import LANGUAGES, catalogue
from station.list_package import load_cec_public, load_list_key, load_package
from station.runtime import KitRuntime
from station.staff import Role, add_worker
from station.store import KitStore
from station.ui.app import _VOTER_CODES, _status, create_app
from station.ui.device_poll import PrinterPoller
from station.ui.mrz_form import mrz_from_form, yymmdd
from station.workflow import State
from station.workflow.card_finger import CARD_NOTICES
from tests.conftest import REPO
from tests.station.conftest import ELECTION, STATION, national_list

PINS = [v.personal_number for v in national_list() if v.station_id == STATION]
UI = REPO / "station" / "ui"


def _notices_set_by_the_flows() -> set[str]:
    """Every notice key a flow can set: string constants given as ``_go``'s third argument, in every workflow."""
    found: set[str] = set()
    for path in (REPO / "station" / "workflow").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "_go"
                    and len(node.args) >= 3):
                for sub in ast.walk(node.args[2]):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and sub.value:
                        found.add(sub.value)
    return found


def _keys_used_by_the_screen() -> set[str]:
    from fingerprint.quality import Verdict

    # IDLE is never on screen (a flow starts in its first step); REFUSED is told by one of the refusal texts.
    shown = set(State) - {State.IDLE, State.REFUSED}
    keys = {f"state.{s.value}" for s in shown} | {"state.already_voted", "state.wrong_station", "state.not_on_list",
                                                 "state.refused_card", "state.confirm_manual"}
    keys |= {f"notice.{n}" for n in _notices_set_by_the_flows() | set(CARD_NOTICES.values())}
    keys |= {f"notice.quality.{v.name.lower()}" for v in Verdict}
    keys |= {f"devcode.{int(c)}" for c in ErrorCode if c and int(c) not in _VOTER_CODES}
    keys |= {f"busy.{k}" for k in ("capture", "card", "confirm")}
    keys |= {f"dev.{s.value}" for s in DeviceState} | {"dev.absent"}
    app_source = (UI / "app.py").read_text(encoding="utf-8") + (UI / "jobs.py").read_text(encoding="utf-8")
    keys |= {f"error.{e}" for e in re.findall(r"error=(\w+)", app_source)}
    keys |= {f"error.{e}" for e in re.findall(r'job\.error = "(\w+)"', app_source)}
    for template in (UI / "templates").glob("*.html"):
        keys |= set(re.findall(r"\bt\('([\w.]+)'[,)]", template.read_text(encoding="utf-8")))
    return keys


def test_every_state_notice_error_and_device_problem_has_text_in_each_language() -> None:
    keys = _keys_used_by_the_screen()
    assert {"notice.card_forged", "notice.card_cloned", "notice.no_finger", "error.mrz_invalid"} <= keys
    for lang in LANGUAGES:
        missing = sorted(k for k in keys if not catalogue(lang).get(k))
        assert not missing, f"{lang}: no text for {missing}"
    # The same placeholders in every language, so no text shows a raw {name} or drops a number.
    for key in catalogue("en"):
        fields = [{f for _, f, _, _ in string.Formatter().parse(catalogue(lang)[key]) if f} for lang in LANGUAGES]
        assert fields[0] == fields[1] == fields[2], key


@pytest.fixture
def screen(kit: KitStore, package: bytes, cec_keys: dict[str, Path]) -> tuple[TestClient, KitRuntime]:
    load_package(kit, package, load_cec_public(cec_keys["public"]), load_list_key(cec_keys["list"]))
    add_worker(kit, "op1", "Айгүл", Role.OPERATOR, "1111")
    add_worker(kit, "m2", "Нурлан", Role.OPERATOR, "2222")
    runtime = KitRuntime(kit, Gallery(kit, None))
    return TestClient(create_app(runtime)), runtime


def test_pin_guessing_is_slowed(screen: tuple[TestClient, KitRuntime]) -> None:
    client, _ = screen
    guard = client.app.state.login_guard  # type: ignore[attr-defined]
    guard.lockout_s = 0.8
    for n in range(guard.max_bad):
        page = client.post("/login", data={"pin": f"000{n}"})
        assert page.url.path == "/login"
    assert "too_many_pins" in str(page.url)
    refused = client.post("/login", data={"pin": "1111"})  # even the right PIN waits out the pause
    assert refused.url.path == "/login" and "too_many_pins" in str(refused.url)
    assert "30" in client.get(str(refused.url)).text  # says how long to wait
    time.sleep(0.9)
    assert client.post("/login", data={"pin": "1111"}).url.path == "/"
    assert guard.wait_s() == 0


def test_language_switches_mid_voter_and_stays_on_the_kit(screen: tuple[TestClient, KitRuntime]) -> None:
    client, runtime = screen
    client.post("/login", data={"pin": "1111"})
    client.post("/flow/start", data={"kind": "manual"})
    client.post("/flow/number", data={"pin": PINS[0], "reason": "injury"})
    assert runtime.flow is not None and runtime.flow.state is State.CONFIRM
    switch = client.get("/lang/ru", headers={"referer": "http://testserver/flow"}, follow_redirects=False)
    assert switch.status_code == 303 and switch.headers["location"] == "/flow"
    page = client.get("/flow").text
    assert '<html lang="ru">' in page and 'data-state="confirm"' in page and "Второй член" in page
    elsewhere = client.get("/lang/en", headers={"referer": "http://evil.example/steal"}, follow_redirects=False)
    assert elsewhere.headers["location"] == "/steal"  # a path on this kit, never another host
    bare = client.get("/lang/en", headers={"referer": "http://testserver"}, follow_redirects=False)
    assert bare.headers["location"] == "/"
    sneaky = client.get("/lang/en", headers={"referer": "http://testserver//evil.example/x"}, follow_redirects=False)
    assert sneaky.headers["location"] == "/"
    assert client.get("/lang/xx", headers={"referer": "http://testserver/"}, follow_redirects=False).status_code == 303
    assert '<html lang="en">' in client.get("/flow").text  # an unknown code changes nothing


def test_bad_input_gets_a_clear_error_and_loses_nothing(screen: tuple[TestClient, KitRuntime]) -> None:
    client, runtime = screen
    client.post("/login", data={"pin": "1111"})
    client.post("/flow/start", data={"kind": "manual"})
    short = client.post("/flow/number", data={"pin": "2000319801", "reason": "injury"})
    assert "error=number_format" in str(short.url) and 'data-state="await_number"' in short.text
    assert "14" in short.text
    no_reason = client.post("/flow/number", data={"pin": PINS[1]})
    assert "error=choose_reason" in str(no_reason.url)
    client.post("/flow/cancel")
    client.post("/flow/start", data={"kind": "card"})
    assert "error=no_card_reader" in str(client.post("/flow/card", data={"document": "AN1"}).url)
    assert client.post("/flow/start", data={"kind": "teleport"}).url.query == b"error=unknown_path"
    assert runtime.counters().identified == 0

    # The MRZ as typed: whole lines, or the three BAC fields in the dates' usual spellings; a wrong check digit or a
    # missing field is refused with the field named.
    assert yymmdd("15.02.1990") == yymmdd("1990-02-15") == yymmdd("900215") == "900215"
    assert mrz_from_form({"document": "an 1234567", "birth": "15.02.1990", "expiry": "01/01/2034"}).birth_date == "900215"
    with pytest.raises(ValueError, match="expiry"):
        mrz_from_form({"document": "AN1234567", "birth": "900215", "expiry": ""})
    from emulators.card.personalisation import CardHolder

    lines = CardHolder().mrz().split("\n")
    assert mrz_from_form({"mrz": "\n".join(lines)}).document_number == "AN1234567"
    bad = lines[0][:14] + ("1" if lines[0][14] != "1" else "2") + lines[0][15:]
    with pytest.raises(ValueError, match="check digit"):
        mrz_from_form({"mrz": "\n".join([bad, *lines[1:]])})


def test_status_has_devices_throughput_counters_and_locks(screen: tuple[TestClient, KitRuntime]) -> None:
    client, _ = screen
    client.post("/login", data={"pin": "1111"})
    client.post("/flow/start", data={"kind": "manual"})
    client.post("/flow/number", data={"pin": PINS[2], "reason": "worn_prints"})
    page = client.post("/flow/confirm", data={"second_pin": "2222"})
    assert 'data-state="print_failed"' in page.text  # no printer: identified, the slip waits for a reprint
    status = client.get("/api/status").json()
    assert status["devices"] == {"scanner": "absent", "card_reader": "absent", "printer": "absent"}
    assert status["throughput"] == {"15": 1, "30": 1, "60": 1}
    assert status["counters"]["identified"] == 1 and status["refused_cards"] == 0
    assert client.get("/api/flow").json()["state"] == "print_failed"
    client.get("/lock")
    assert client.get("/api/status").status_code == 401 and client.get("/api/flow").status_code == 401
    assert client.get("/flow").url.path == "/login"


def test_an_idle_printer_out_of_paper_shows_on_the_status(screen: tuple[TestClient, KitRuntime]) -> None:
    _, runtime = screen
    with PrinterEmulator("escpos58") as emu:
        printer = EscPosPrinter(emu.path, load_printer_profile("escpos58"))
        printer.open()
        try:
            runtime.printer = printer
            lock = threading.Lock()
            poller = PrinterPoller(printer, lock, every_s=60)
            assert _status(runtime)["devices"]["printer"] == "ready"
            emu.faults.paper_out = True
            with lock:
                assert poller.poll_once() is False  # a slip is printing: the poll keeps off the line
            assert poller.poll_once() is True
            status = _status(runtime)
            assert status["devices"]["printer"] == "not_ready"
            assert status["device_codes"] == {"printer": int(ErrorCode.PRINTER_PAPER_OUT)}
            emu.faults.paper_out = False
            poller.poll_once()
            assert _status(runtime)["devices"]["printer"] == "ready" and _status(runtime)["device_codes"] == {}
        finally:
            printer.close()


def test_a_full_disk_at_confirm_is_told_and_loses_nothing(tmp_path: Path, package: bytes,
                                                          cec_keys: dict[str, Path]) -> None:
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode().strip()}); run as root")
    try:
        store = KitStore(mount / "kit.db")
        store.set_kit_info(ELECTION, STATION, "1")
        load_package(store, package, load_cec_public(cec_keys["public"]), load_list_key(cec_keys["list"]))
        add_worker(store, "op1", "Айгүл", Role.OPERATOR, "1111")
        add_worker(store, "m2", "Нурлан", Role.OPERATOR, "2222")
        runtime = KitRuntime(store, Gallery(store, None))
        client = TestClient(create_app(runtime))
        client.cookies.set("shailoo_lang", "en")
        client.post("/login", data={"pin": "1111"})
        client.post("/flow/start", data={"kind": "manual"})
        client.post("/flow/number", data={"pin": PINS[4], "reason": "injury"})
        filler = mount / "filler"
        try:
            with filler.open("wb") as handle:
                while True:
                    handle.write(b"\0" * 4096)
                    handle.flush()
        except OSError:
            pass  # the disk is full now
        page = client.post("/flow/confirm", data={"second_pin": "2222"})
        assert "error=store" in str(page.url) and "could not save" in page.text
        assert runtime.counters().identified == 0 and runtime.flow is not None
        assert runtime.flow.state is State.CONFIRM  # the voter is still on screen: confirm again once there is room
        filler.unlink()
        page = client.post("/flow/confirm", data={"second_pin": "2222"})
        assert 'data-state="print_failed"' in page.text and runtime.counters().identified == 1
        store.close()
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
