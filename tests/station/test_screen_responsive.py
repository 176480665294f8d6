"""The screen keeps answering while a device waits: a capture waits for a finger that never comes (R307 emulator on a
real pty, ``finger_present = False``) and meanwhile the status, the page and the flow endpoints answer within
:data:`BOUND_S`; Cancel stops the wait within :data:`CANCEL_BOUND_S` and leaves the scanner free for the next voter.

Served by uvicorn on 127.0.0.1 as the kit serves it (not a test client), so a route that blocked the event loop would
show here as a request that takes as long as the capture (20 s).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from emulators.printer import PrinterEmulator
from emulators.r30x import R30xEmulator
from station.gallery import Gallery
from station.list_package import load_cec_public, load_list_key, load_package
from station.matching import EngineMatcher
from station.runtime import KitRuntime
from station.staff import Role, add_worker
from station.store import KitStore
from station.ui.app import create_app
from station.ui.sessions import Sessions
from station.workflow import State
from tests.station.served import printer_on_pty, scanner_on_pty, serve_app

#: Longest answer of any screen endpoint while a capture waits (seconds). Unloaded they take 5 to 30 ms; the bound
#: leaves room for a shared 2-core machine, and is 20 times shorter than the capture the old routes sat in.
BOUND_S = 1.0
#: Longest time from pressing Cancel to the home screen (seconds): one scanner slice (1 s) plus slack for the load.
CANCEL_BOUND_S = 3.5


@dataclass
class Served:
    url: str
    kit: KitRuntime
    scanner_emu: R30xEmulator
    printer_emu: PrinterEmulator


@pytest.fixture
def served(kit: KitStore, package: bytes, cec_keys: dict[str, Path]) -> Iterator[Served]:
    load_package(kit, package, load_cec_public(cec_keys["public"]), load_list_key(cec_keys["list"]))
    add_worker(kit, "op1", "Айгүл", Role.OPERATOR, "1111")
    with printer_on_pty() as (printer, p_emu), scanner_on_pty("synthetic:7") as (scanner, s_emu):
        # The list's templates are opaque test bytes, so the matcher's gallery stays empty: a finger gives "no match".
        runtime = KitRuntime(kit, Gallery(kit, None), printer=printer, scanner=scanner, matcher=EngineMatcher())
        with serve_app(create_app(runtime, Sessions(120))) as url:
            yield Served(url, runtime, s_emu, p_emu)

def _timed(client: httpx.Client, method: str, path: str, **kwargs: object) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    return response, time.perf_counter() - started


def test_screen_answers_while_a_capture_waits_and_cancel_stops_it(served: Served) -> None:
    served.scanner_emu.faults.finger_present = False
    with httpx.Client(base_url=served.url, timeout=30) as client:
        assert client.post("/login", data={"pin": "1111"}).status_code == 303
        client.post("/flow/start", data={"kind": "finger"})
        response, took = _timed(client, "POST", "/flow/capture")
        assert response.status_code == 303 and took < BOUND_S, took
        flow = client.get("/api/flow").json()
        assert flow["busy"]["kind"] == "capture" and flow["state"] == "await_finger"

        slowest: dict[str, float] = {}
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            for path in ("/api/status", "/api/flow", "/flow", "/"):
                response, took = _timed(client, "GET", path)
                assert response.status_code == 200, (path, response.status_code)
                slowest[path] = max(slowest.get(path, 0.0), took)
        print("slowest answers while the capture waited (s):", {k: round(v, 3) for k, v in slowest.items()})
        assert max(slowest.values()) < BOUND_S, slowest
        status = client.get("/api/status").json()
        assert status["devices"]["scanner"] == "busy"
        page = client.get("/flow").text
        assert 'data-busy="capture"' in page and 'id="cancel-job"' in page
        assert served.kit.flow is not None and served.kit.flow.state is State.AWAIT_FINGER

        response, took = _timed(client, "POST", "/flow/cancel")
        assert response.status_code == 303 and response.headers["location"] == "/", response.headers
        assert took < CANCEL_BOUND_S, took
        assert served.kit.flow is None
        assert client.get("/api/flow").json()["busy"] is None

        # The scanner is free again: the next voter's finger is captured (and, with an empty gallery, not matched).
        served.scanner_emu.faults.finger_present = True
        client.post("/flow/start", data={"kind": "finger"})
        client.post("/flow/capture")
        flow = client.get("/api/flow", params={"wait": 20}).json()
        assert flow["busy"] is None and flow["state"] == "await_finger", flow
        assert flow["notice"] in {"no_match"} or flow["notice"].startswith("quality."), flow
        assert served.scanner_emu.images_served >= 1


def test_no_finger_in_time_keeps_the_voter_and_says_what_to_do(served: Served) -> None:
    served.scanner_emu.faults.finger_present = False
    with httpx.Client(base_url=served.url, timeout=30) as client:
        client.post("/login", data={"pin": "1111"})
        client.post("/flow/start", data={"kind": "finger"})
        flow_obj = served.kit.flow
        assert flow_obj is not None
        # A short capture, run as the screen's job does, to reach "no finger in time" without waiting 20 s.
        jobs = client.get("/api/flow").json()
        assert jobs["busy"] is None
        flow_obj.capture(timeout_s=1.5, cancel=threading.Event())  # type: ignore[attr-defined]
        flow = client.get("/api/flow").json()
        assert flow["state"] == "await_finger" and flow["notice"] == "no_finger", flow
        client.cookies.set("shailoo_lang", "en")
        page = client.get("/flow").text
        assert "No finger was placed in time" in page and 'id="scan"' in page


def test_a_second_device_step_is_refused_while_one_runs(served: Served) -> None:
    served.scanner_emu.faults.finger_present = False
    with httpx.Client(base_url=served.url, timeout=30) as client:
        client.post("/login", data={"pin": "1111"})
        client.post("/flow/start", data={"kind": "finger"})
        client.post("/flow/capture")
        again = client.post("/flow/capture")
        assert again.status_code == 303 and again.headers["location"] == "/flow?error=busy"
        assert client.post("/flow/start", data={"kind": "manual"}).headers["location"] == "/flow?error=busy"
        assert served.kit.flow is not None and str(served.kit.flow.path) == "finger"
        assert client.post("/flow/cancel").headers["location"] == "/"
        assert client.get("/api/flow").json() == {"state": None, "path": None, "notice": "", "message": "",
                                                  "busy": None, "error": ""}
