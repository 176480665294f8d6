"""The operator screen: a local web app served by the kit (FastAPI + Jinja2 + a little vanilla JS).

Every route is thin: it checks the session, calls the runtime or the workflow, and redirects to the page that shows
the new state (post/redirect/get, so a reload never repeats an identification). Device work (waiting for a finger,
reading a chip, printing a slip) runs as a background job (:mod:`station.ui.jobs`): the route answers at once and the
page shows a progress state with Cancel, polling ``/api/flow``, so the screen, counters and device status keep
answering meanwhile. Text comes from the ky/ru/en catalogues; the language is a cookie switchable on every page.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from station.devices.errors import DeviceError
from station.devices.health import ErrorCode
from station.errors import StationError
from station.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate
from station.identify import FallbackReason, Outcome, mark, undo
from station.receipts import BISHKEK, ReceiptKind, make_receipt, receipt_slip
from station.runtime import KitRuntime
from station.staff import find_by_pin
from station.ui.device_poll import PRINTER_POLL_S, PrinterPoller
from station.ui.jobs import FlowJobs
from station.ui.mrz_form import mrz_from_form
from station.ui.sessions import LoginGuard, Session, Sessions
from station.workflow import FINAL, CardFingerFlow, FingerOnlyFlow, ManualFlow, State, reprint
from station.workflow.refusals import refused_cards

_HERE = Path(__file__).parent
COOKIE = "shailoo_kit"
LANG_COOKIE = "shailoo_lang"
#: Seconds a confirm waits for its commit and slip before the page shows the progress state instead (a slip over a
#: 9600-baud printer takes about a second; the commit a few milliseconds).
CONFIRM_SETTLE_S = 3.0
#: Seconds a cancel waits for the capture to stop (one scanner slice, ``CANCEL_SLICE_S``, plus an image upload).
CANCEL_SETTLE_S = 3.0
#: Device states the screen names (the drivers' ``DeviceState`` values, plus ``absent`` for no device).
_DEVICE_STATES = ("ready", "busy", "not_ready", "disconnected", "absent")
#: Device error codes that come from the voter or the operator, not from the device (``ErrorCode`` 101, 103, 201,
#: 202, 205): the device stays "ready" on the status panel.
_VOTER_CODES = frozenset({101, 103, 201, 202, 205})
#: Seconds past the reader's read limit after which a card job tells the operator to take the card off: a hung chip
#: holds the PC/SC call until the card leaves the field (pcsc-lite cannot abandon a transmit).
CARD_STUCK_MARGIN_S = 1.5
#: Longest long-poll of ``/api/flow?wait=S`` (seconds).
MAX_WAIT_S = 30.0


async def _form(request: Request) -> dict[str, str]:
    # URL-encoded forms parsed here: the screen posts nothing else, and it spares a multipart dependency.
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _worker(request: Request) -> Session:
    session = request.app.state.sessions.get(request.cookies.get(COOKIE))
    if session is None:
        raise HTTPException(status_code=303, headers={"Location": "/login"})
    return session


def _supervisor(request: Request) -> Session:
    session = _worker(request)
    if session.role != "supervisor":
        raise HTTPException(status_code=303, headers={"Location": "/?error=need_supervisor"})
    return session


#: A logged-in, unlocked poll worker (redirects to the PIN screen otherwise).
Worker = Annotated[Session, Depends(_worker)]
#: A logged-in chair or supervisor.
Supervisor = Annotated[Session, Depends(_supervisor)]


def create_app(kit: KitRuntime, sessions: Sessions | None = None, printer_poll_s: float = PRINTER_POLL_S) -> FastAPI:
    """The operator screen for ``kit``; while served, an idle printer's status is read every ``printer_poll_s``."""
    jobs = FlowJobs(kit.lock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        poller = PrinterPoller(kit.printer, jobs.devices["printer"], printer_poll_s).start()
        try:
            yield
        finally:
            poller.stop()

    app = FastAPI(title="Shailoo ID kit", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    templates = Jinja2Templates(directory=_HERE / "templates")
    sessions = sessions or Sessions()
    guard = LoginGuard()
    app.state.sessions = sessions
    app.state.kit = kit
    app.state.jobs = jobs
    app.state.login_guard = guard

    def lang_of(request: Request) -> str:
        lang = request.cookies.get(LANG_COOKIE, DEFAULT_LANGUAGE)
        return lang if lang in LANGUAGES else DEFAULT_LANGUAGE

    def render(request: Request, name: str, session: Session | None, **extra: Any) -> HTMLResponse:
        lang = lang_of(request)
        info = kit.store.kit_info()

        def t(key: str, **values: object) -> str:
            return translate(lang, key, **values)

        error = request.query_params.get("error", "")
        if not error and name == "flow.html" and jobs.busy is None and jobs.last_error:
            error, jobs.last_error = jobs.last_error, ""  # a failed background step, shown once
        context = {
            "t": t,
            "lang": lang,
            "languages": LANGUAGES,
            "info": info,
            "session": session,
            "training": kit.training,
            "error": error,
            "bishkek": BISHKEK,
            "lock_after": sessions.lock_after_s,
            "dev_labels": {state: t(f"dev.{state}") for state in _DEVICE_STATES},
            "code_labels": {int(code): t(f"devcode.{int(code)}") for code in ErrorCode if code},
            **extra,
        }
        return templates.TemplateResponse(request, name, context)

    def back(path: str = "/") -> RedirectResponse:
        return RedirectResponse(path, status_code=303)

    async def settle(seconds: float) -> None:
        # Awaiting (not sleeping a thread) keeps every other request answering while the job finishes.
        deadline = time.monotonic() + seconds
        while jobs.busy is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    def status_now() -> dict[str, Any]:
        return _status(kit, jobs)

    @app.get("/lang/{code}")
    def set_language(code: str, request: Request) -> RedirectResponse:
        # Back to the page the worker was on (same site only: the referer's path, never another host).
        parts = urlsplit(request.headers.get("referer") or "/")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response = back(path if path.startswith("/") and not path.startswith(("//", "/lang/")) else "/")
        if code in LANGUAGES:
            response.set_cookie(LANG_COOKIE, code, max_age=86400 * 30, samesite="strict")
        return response

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> HTMLResponse:
        return render(request, "login.html", None, wait_s=guard.wait_s())

    @app.post("/login")
    async def login(request: Request) -> RedirectResponse:
        pin = (await _form(request)).get("pin", "")
        if guard.wait_s() > 0:
            return back("/login?error=too_many_pins")
        # scrypt per worker (about 20 ms each): off the event loop, so the screen keeps answering.
        found = await run_in_threadpool(find_by_pin, kit.store, pin)
        if found is None:
            guard.failed()
            return back("/login?error=" + ("too_many_pins" if guard.wait_s() > 0 else "bad_pin"))
        guard.succeeded()
        response = back("/")
        response.set_cookie(COOKIE, sessions.open(found.id, found.name, found.role), httponly=True, samesite="strict")
        return response

    @app.get("/lock")
    def lock(request: Request) -> RedirectResponse:
        sessions.close(request.cookies.get(COOKIE))
        response = back("/login")
        response.delete_cookie(COOKIE)
        return response

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request, session: Worker) -> HTMLResponse:
        return render(request, "home.html", session, status=status_now())

    @app.get("/api/status")
    def status(request: Request) -> JSONResponse:
        if sessions.get(request.cookies.get(COOKIE), touch=False) is None:
            return JSONResponse({"locked": True}, status_code=401)
        return JSONResponse(status_now())

    @app.get("/api/flow")
    async def flow_status(request: Request, wait: float = 0.0) -> JSONResponse:
        """The flow on screen and the running device job; ``wait=S`` long-polls until the job is over (max 30 s)."""
        if sessions.get(request.cookies.get(COOKIE), touch=False) is None:
            return JSONResponse({"locked": True}, status_code=401)
        await settle(min(max(wait, 0.0), MAX_WAIT_S))
        flow = kit.flow
        job = jobs.busy
        return JSONResponse({
            "state": str(flow.state) if flow is not None else None,
            "path": str(flow.path) if flow is not None else None,
            "notice": flow.notice if flow is not None else "",
            "message": flow.message if flow is not None else "",
            "busy": job.as_dict() if job is not None else None,
            "error": jobs.last_error,
        })

    @app.post("/flow/start")
    async def start(request: Request, session: Worker) -> RedirectResponse:
        form = await _form(request)
        with kit.lock:
            if jobs.busy is not None:
                return back("/flow?error=busy")
            try:
                kit.start_flow(form.get("kind", ""), session.worker_id, mobile=form.get("mobile") == "1")
            except ValueError:
                return back("/?error=unknown_path")
        return back("/flow")

    @app.get("/flow", response_class=HTMLResponse)
    def flow_page(request: Request, session: Worker) -> Response:
        if kit.flow is None:
            return back("/")
        job = jobs.busy
        return render(request, "flow.html", session, flow=kit.flow, status=status_now(), view=_flow_view(kit),
                      job=job.as_dict() if job is not None else None,
                      has_camera=bool(getattr(kit.card_reader, "has_camera", False)),
                      card_stuck_s=float(getattr(kit.card_reader, "read_limit_s", 5.0)) + CARD_STUCK_MARGIN_S,
                      card_present=getattr(kit.card_reader, "present", None))

    @app.post("/flow/card")
    async def card(request: Request, session: Worker) -> RedirectResponse:
        form = await _form(request)
        flow = kit.flow
        if not isinstance(flow, CardFingerFlow) or flow.state is not State.AWAIT_CARD:
            return back("/flow")
        reader = kit.card_reader
        if reader is None:
            return back("/flow?error=no_card_reader")
        camera = form.get("source") == "camera"
        mrz = None
        if not camera:
            try:
                mrz = mrz_from_form(form)
            except ValueError:
                return back("/flow?error=mrz_invalid")
        elif not getattr(reader, "has_camera", False):
            return back("/flow?error=no_camera")

        def step(cancel: threading.Event) -> None:
            _read_card(flow, reader, mrz, cancel)

        if not jobs.start("card", flow, step):
            return back("/flow?error=busy")
        return back("/flow")

    @app.post("/flow/capture")
    async def capture(request: Request, session: Worker) -> RedirectResponse:
        flow = kit.flow
        if not isinstance(flow, CardFingerFlow | FingerOnlyFlow) or flow.state is not State.AWAIT_FINGER:
            return back("/flow")
        if kit.scanner is None or kit.matcher is None:
            return back("/flow?error=no_scanner")

        def step(cancel: threading.Event) -> None:
            flow.capture(cancel=cancel)

        if not jobs.start("capture", flow, step):
            return back("/flow?error=busy")
        return back("/flow")

    @app.post("/flow/choose")
    async def choose(request: Request, session: Worker) -> RedirectResponse:
        flow = kit.flow
        form = await _form(request)
        if isinstance(flow, FingerOnlyFlow):
            with kit.lock:
                if jobs.busy is not None or flow.state is not State.CHOOSE:
                    return back("/flow")
                try:
                    flow.choose(form.get("pin", ""))
                except ValueError:
                    return back("/flow?error=choose_candidate")
        return back("/flow")

    @app.post("/flow/number")
    async def number(request: Request, session: Worker) -> RedirectResponse:
        flow = kit.flow
        form = await _form(request)
        if not isinstance(flow, ManualFlow) or flow.state is not State.AWAIT_NUMBER:
            return back("/flow")
        typed = form.get("pin", "").strip()
        if not (typed.isdigit() and len(typed) == 14):
            return back("/flow?error=number_format")
        try:
            reason = FallbackReason(form.get("reason", ""))
        except ValueError:
            return back("/flow?error=choose_reason")
        with kit.lock:
            if jobs.busy is None:
                flow.enter(typed, reason)
        return back("/flow")

    @app.post("/flow/confirm")
    async def confirm(request: Request, session: Worker) -> RedirectResponse:
        flow = kit.flow
        form = await _form(request)
        if flow is None or flow.state is not State.CONFIRM:
            return back("/flow")
        if isinstance(flow, ManualFlow):
            # The second member confirms with their own PIN: two people, each accountable.
            second = await run_in_threadpool(find_by_pin, kit.store, form.get("second_pin", ""))
            if second is None or second.id == session.worker_id:
                return back("/flow?error=second_member")
            second_id = second.id

            def step(cancel: threading.Event) -> None:
                flow.confirm(second_id)
        elif isinstance(flow, CardFingerFlow | FingerOnlyFlow):

            def step(cancel: threading.Event) -> None:
                flow.confirm()
        else:
            return back("/flow")
        if not jobs.start("confirm", flow, step):
            return back("/flow?error=busy")
        await settle(CONFIRM_SETTLE_S)
        if jobs.busy is None and jobs.last_error:
            error, jobs.last_error = jobs.last_error, ""
            return back(f"/flow?error={error}")
        return back("/flow")

    @app.post("/flow/cancel")
    async def cancel(session: Worker) -> RedirectResponse:
        job = jobs.busy
        if job is not None:
            if jobs.cancel() is None:
                return back("/flow?error=busy_printing")  # a commit and its slip are never cut short
            await settle(CANCEL_SETTLE_S)
            if jobs.busy is not None:
                return back("/flow")  # still stopping: the page shows "cancelling" and reloads when done
        with kit.lock:
            if kit.flow is not None and kit.flow.state not in FINAL:
                kit.flow.cancel()
            kit.flow = None
        return back("/")

    @app.post("/flow/override")
    async def override(request: Request, session: Supervisor) -> RedirectResponse:
        flow = kit.flow
        reason = (await _form(request)).get("reason", "").strip()
        if flow is None or flow.voter is None or flow.state is not State.REFUSED or not reason:
            return back("/flow?error=override_reason")
        with kit.lock:
            result = mark(kit.store, flow.voter.personal_number, flow.path, flow.operator, mobile=flow.mobile,
                          override_by=session.worker_id, override_reason=reason)
            if result.outcome is Outcome.IDENTIFIED:
                kit.flow = None
        return back("/supervisor?done=override")

    @app.get("/supervisor", response_class=HTMLResponse)
    def supervisor_page(request: Request, session: Supervisor) -> HTMLResponse:
        return render(request, "supervisor.html", session, recent=kit.recent(), status=status_now(),
                      receipt=request.query_params.get("receipt", ""))

    # Reprints and receipts are plain ``def`` routes: FastAPI runs them in its thread pool, so a slow printer holds
    # only the supervisor's own request, never the screen.
    @app.post("/supervisor/reprint/{record_id}")
    def do_reprint(record_id: int, session: Supervisor) -> RedirectResponse:
        try:
            with jobs.devices["printer"]:
                reprint(kit.store, kit.printer, record_id, session.worker_id, kit.training)
        except StationError:
            return back("/supervisor?error=reprint_failed")
        return back("/supervisor?done=reprint")

    @app.post("/supervisor/undo/{record_id}")
    async def do_undo(record_id: int, request: Request, session: Supervisor) -> RedirectResponse:
        reason = (await _form(request)).get("reason", "").strip()
        try:
            undo(kit.store, record_id, session.worker_id, reason)
        except StationError:
            return back("/supervisor?error=undo_reason")
        return back("/supervisor?done=undo")

    @app.post("/supervisor/receipt/{kind}")
    def do_receipt(kind: str, session: Supervisor) -> RedirectResponse:
        try:
            receipt = make_receipt(kit.store, ReceiptKind(kind))
        except (StationError, ValueError):
            return back("/supervisor?error=receipt")
        app.state.last_receipt = receipt
        if kit.printer is not None:
            try:
                with jobs.devices["printer"]:
                    kit.printer.print_slip(receipt_slip(receipt, kit.training))
            except DeviceError:
                return back("/receipt?error=reprint_failed")
        return back("/receipt")

    @app.get("/receipt", response_class=HTMLResponse)
    def receipt_page(request: Request, session: Supervisor) -> HTMLResponse:
        import segno

        receipt = getattr(app.state, "last_receipt", None)
        if receipt is None:
            return render(request, "supervisor.html", session, recent=kit.recent(), status=status_now(), receipt="")
        qr = segno.make(receipt.qr_text(), error="m").svg_data_uri(scale=3)
        return render(request, "receipt.html", session, receipt=receipt, qr=qr)

    @app.get("/photo")
    def photo(session: Worker) -> Response:
        flow = kit.flow
        if flow is None or not flow.photo:
            return Response(status_code=404)
        return Response(flow.photo, media_type=_image_type(flow.photo), headers={"Cache-Control": "no-store"})

    @app.get("/chip-face")
    def chip_face(session: Worker) -> Response:
        """The face image read from the chip (DG2), to set beside the list's photo."""
        flow = kit.flow
        card_data = flow.card if isinstance(flow, CardFingerFlow) else None
        if card_data is None or not card_data.face:
            return Response(status_code=404)
        return Response(card_data.face, media_type=card_data.face_mime, headers={"Cache-Control": "no-store"})

    return app


def _image_type(data: bytes) -> str:
    return "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"


def _read_card(flow: CardFingerFlow, reader: Any, mrz: Any, cancel: threading.Event) -> None:
    """The card job: the MRZ from the camera when none was typed, then the chip (BAC, passive and active
    authentication). A cancel while the chip is read drops the read, except a refused card, which is always kept."""
    if mrz is None:
        try:
            mrz = reader.mrz_from_camera()
        except (DeviceError, ValueError) as exc:
            if not cancel.is_set():
                flow.mrz_unreadable(exc)
            return
    if cancel.is_set():
        return
    try:
        data = reader.read_card(None, mrz=mrz)
    except DeviceError as exc:
        if not cancel.is_set():
            flow.card_failed(exc)
        return
    if cancel.is_set() and data.authentic:
        return
    flow.card_read(data)


def _status(kit: KitRuntime, jobs: FlowJobs | None = None) -> dict[str, Any]:
    c = kit.counters()
    devices = kit.device_status()
    job = jobs.busy if jobs is not None else None
    if job is not None and job.kind == "capture" and devices.get("scanner") != "absent":
        # The scanner's driver waits in slices (to be cancellable) and reports "no finger" between them: while the
        # screen waits for a finger, the scanner is busy, not faulty.
        devices["scanner"] = "busy"
    reader = kit.card_reader
    if devices.get("card_reader") == "busy" and (job is None or job.kind != "card"):
        # The reader's driver says "busy" while a card merely lies on it; to the operator it is ready (whether a
        # card is there is shown beside the card form).
        devices["card_reader"] = "ready"
    codes = {}
    for name, device in (("scanner", kit.scanner), ("card_reader", reader), ("printer", kit.printer)):
        health = getattr(device, "health", None)
        code = int(getattr(health, "code", 0) or 0)
        if code in _VOTER_CODES:
            # No finger in time, a poor image, no card, a mistyped MRZ, a card moved: the flow's notice says what
            # to do; the device itself is fine.
            if devices.get(name) == "not_ready":
                devices[name] = "ready"
        elif code and not (name == "scanner" and devices.get("scanner") == "busy"):
            codes[name] = code  # the numbered problem the screen explains (devcode.* in the catalogues)
    return {
        "devices": devices,
        "device_codes": codes,
        "peers": kit.connected_peers(),
        "counters": c.as_dict(),
        "refused_cards": refused_cards(kit.store),
        "card_present": bool(getattr(reader, "present", False)),
        "link": kit.link.status() if kit.link is not None else None,
        "throughput": {str(k): v for k, v in kit.throughput().items()},
    }


def _flow_view(kit: KitRuntime) -> dict[str, Any]:
    flow = kit.flow
    assert flow is not None
    view: dict[str, Any] = {"state": str(flow.state), "path": str(flow.path), "message": flow.message,
                            "notice": flow.notice}
    if flow.voter is not None:
        v = flow.voter
        view["voter"] = {
            "name": f"{v.surname} {v.given_name} {v.patronymic}".strip(),
            "list_number": v.list_number,
            "birth": v.birth_date.isoformat(),
            "address": v.address,
            "home_voting": v.home_voting,
        }
    view["photo"] = bool(flow.photo)
    view["chip_face"] = isinstance(flow, CardFingerFlow) and flow.card is not None and bool(flow.card.face)
    if isinstance(flow, CardFingerFlow) and flow.card is not None and flow.card.authentic:
        view["chip_name"] = flow.card.given_names or flow.card.surname
    if flow.result is not None and flow.result.earlier is not None:
        e = flow.result.earlier
        view["earlier"] = {"time": e.identified_at.astimezone(BISHKEK).strftime("%H:%M:%S"), "kit": e.kit_id,
                           "path": e.path}
    if flow.result is not None and flow.result.outcome is Outcome.NOT_ON_LIST:
        view["right_station"] = flow.result.right_station
    if isinstance(flow, FingerOnlyFlow):
        view["candidates"] = [
            {"pin": c.personal_number, "score": round(c.score * 100), "name": _name(kit, c.personal_number)}
            for c in flow.candidates
        ]
    view["utc"] = str(UTC)
    return view


def _name(kit: KitRuntime, pin: str) -> str:
    from station.store import Voter

    with kit.store.transaction() as session:
        voter = session.get(Voter, pin)
        return f"{voter.surname} {voter.given_name}" if voter is not None else pin
