"""The operator screen: a local web app served by the kit (FastAPI + Jinja2 + a little vanilla JS).

Every route is thin: it checks the session, calls the runtime or the workflow, and redirects to the page that shows
the new state (post/redirect/get, so a reload never repeats an identification). Text comes from the ky/ru/en
catalogues; the language is a cookie switchable on every page.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from station.devices.errors import DeviceError
from station.errors import StationError
from station.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate
from station.identify import FallbackReason, Outcome, mark, undo
from station.receipts import BISHKEK, ReceiptKind, make_receipt, receipt_slip
from station.runtime import KitRuntime
from station.staff import find_by_pin
from station.ui.sessions import Session, Sessions
from station.workflow import CardFingerFlow, FingerOnlyFlow, ManualFlow, State, reprint

_HERE = Path(__file__).parent
COOKIE = "shailoo_kit"
LANG_COOKIE = "shailoo_lang"


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


def create_app(kit: KitRuntime, sessions: Sessions | None = None) -> FastAPI:
    """The operator screen for ``kit``."""
    app = FastAPI(title="Shailoo ID kit", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    templates = Jinja2Templates(directory=_HERE / "templates")
    sessions = sessions or Sessions()
    app.state.sessions = sessions
    app.state.kit = kit

    def lang_of(request: Request) -> str:
        lang = request.cookies.get(LANG_COOKIE, DEFAULT_LANGUAGE)
        return lang if lang in LANGUAGES else DEFAULT_LANGUAGE

    def render(request: Request, name: str, session: Session | None, **extra: Any) -> HTMLResponse:
        lang = lang_of(request)
        info = kit.store.kit_info()

        def t(key: str, **values: object) -> str:
            return translate(lang, key, **values)

        context = {
            "t": t,
            "lang": lang,
            "languages": LANGUAGES,
            "info": info,
            "session": session,
            "training": kit.training,
            "error": request.query_params.get("error", ""),
            "bishkek": BISHKEK,
            "lock_after": sessions.lock_after_s,
            **extra,
        }
        return templates.TemplateResponse(request, name, context)

    def back(path: str = "/") -> RedirectResponse:
        return RedirectResponse(path, status_code=303)

    @app.get("/lang/{code}")
    def set_language(code: str, request: Request) -> RedirectResponse:
        response = back(request.headers.get("referer") or "/")
        if code in LANGUAGES:
            response.set_cookie(LANG_COOKIE, code, max_age=86400 * 30, samesite="strict")
        return response

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> HTMLResponse:
        return render(request, "login.html", None)

    @app.post("/login")
    async def login(request: Request) -> RedirectResponse:
        pin = (await _form(request)).get("pin", "")
        found = find_by_pin(kit.store, pin)
        if found is None:
            return back("/login?error=bad_pin")
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
        return render(request, "home.html", session, status=_status(kit))

    @app.get("/api/status")
    def status(request: Request) -> JSONResponse:
        if sessions.get(request.cookies.get(COOKIE), touch=False) is None:
            return JSONResponse({"locked": True}, status_code=401)
        return JSONResponse(_status(kit))

    @app.post("/flow/start")
    async def start(request: Request, session: Worker) -> RedirectResponse:
        form = await _form(request)
        with kit.lock:
            kit.start_flow(form.get("kind", ""), session.worker_id, mobile=form.get("mobile") == "1")
        return back("/flow")

    @app.get("/flow", response_class=HTMLResponse)
    def flow_page(request: Request, session: Worker) -> HTMLResponse:
        if kit.flow is None:
            return render(request, "home.html", session, status=_status(kit))
        return render(request, "flow.html", session, flow=kit.flow, status=_status(kit), view=_flow_view(kit))

    @app.post("/flow/card")
    async def card(request: Request, session: Worker) -> RedirectResponse:
        flow = kit.flow
        if not isinstance(flow, CardFingerFlow):
            return back("/flow")
        if kit.card_reader is None:
            return back("/flow?error=no_card_reader")
        with kit.lock:
            flow.read_card(kit.card_reader, timeout_s=20)
        return back("/flow")

    @app.post("/flow/capture")
    async def capture(request: Request, session: Worker) -> RedirectResponse:
        flow = kit.flow
        if not isinstance(flow, CardFingerFlow | FingerOnlyFlow):
            return back("/flow")
        if kit.scanner is None or kit.matcher is None:
            return back("/flow?error=no_scanner")
        with kit.lock:
            flow.capture()
        return back("/flow")

    @app.post("/flow/choose")
    async def choose(request: Request, session: Worker) -> RedirectResponse:
        flow = kit.flow
        if isinstance(flow, FingerOnlyFlow):
            with kit.lock:
                flow.choose((await _form(request)).get("pin", ""))
        return back("/flow")

    @app.post("/flow/number")
    async def number(request: Request, session: Worker) -> RedirectResponse:
        flow = kit.flow
        form = await _form(request)
        if not isinstance(flow, ManualFlow):
            return back("/flow")
        try:
            reason = FallbackReason(form.get("reason", ""))
        except ValueError:
            return back("/flow?error=choose_reason")
        with kit.lock:
            flow.enter(form.get("pin", ""), reason)
        return back("/flow")

    @app.post("/flow/confirm")
    async def confirm(request: Request, session: Worker) -> RedirectResponse:
        flow = kit.flow
        form = await _form(request)
        try:
            with kit.lock:
                if isinstance(flow, ManualFlow):
                    # The second member confirms with their own PIN: two people, each accountable.
                    second = find_by_pin(kit.store, form.get("second_pin", ""))
                    if second is None or second.id == session.worker_id:
                        return back("/flow?error=second_member")
                    flow.confirm(second.id)
                elif isinstance(flow, CardFingerFlow | FingerOnlyFlow):
                    flow.confirm()
        except StationError:
            return back("/flow?error=store")
        return back("/flow")

    @app.post("/flow/cancel")
    def cancel(session: Worker) -> RedirectResponse:
        with kit.lock:
            if kit.flow is not None and kit.flow.state not in (State.PRINTED, State.PRINT_FAILED):
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
        return render(request, "supervisor.html", session, recent=kit.recent(), status=_status(kit),
                      receipt=request.query_params.get("receipt", ""))

    @app.post("/supervisor/reprint/{record_id}")
    def do_reprint(record_id: int, session: Supervisor) -> RedirectResponse:
        try:
            reprint(kit.store, kit.printer, record_id, session.worker_id)
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
                kit.printer.print_slip(receipt_slip(receipt, kit.training))
            except DeviceError:
                return back("/receipt?error=reprint_failed")
        return back("/receipt")

    @app.get("/receipt", response_class=HTMLResponse)
    def receipt_page(request: Request, session: Supervisor) -> HTMLResponse:
        import segno

        receipt = getattr(app.state, "last_receipt", None)
        if receipt is None:
            return render(request, "supervisor.html", session, recent=kit.recent(), status=_status(kit), receipt="")
        qr = segno.make(receipt.qr_text(), error="m").svg_data_uri(scale=3)
        return render(request, "receipt.html", session, receipt=receipt, qr=qr)

    @app.get("/photo")
    def photo(session: Worker) -> Response:
        flow = kit.flow
        if flow is None or not flow.photo:
            return Response(status_code=404)
        return Response(flow.photo, media_type="image/png", headers={"Cache-Control": "no-store"})

    return app


def _status(kit: KitRuntime) -> dict[str, Any]:
    c = kit.counters()
    return {
        "devices": kit.device_status(),
        "peers": kit.connected_peers(),
        "counters": c.as_dict(),
        "throughput": {str(k): v for k, v in kit.throughput().items()},
    }


def _flow_view(kit: KitRuntime) -> dict[str, Any]:
    flow = kit.flow
    assert flow is not None
    view: dict[str, Any] = {"state": str(flow.state), "path": str(flow.path), "message": flow.message}
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
