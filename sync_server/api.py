"""HTTP API of the CEC server (FastAPI). Routes only translate HTTP to service calls; every request is audited."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from sync_server.config import ServerSettings
from sync_server.dashboard_cache import DashboardCache
from sync_server.errors import NotFoundError, RegistryError
from sync_server.ingest import IngestStats
from sync_server.keys import ServerKeys
from sync_server.services import access, opendata, registry, turnout
from sync_server.services.anomalies import find_anomalies
from sync_server.services.dashboard import MAX_PAGE_ROWS, SORT_KEYS, station_page
from sync_server.webassets import dashboard_html, plotly_js_gzip, plotly_js_path

#: Seconds between pushed dashboard updates (the snapshot's turnout is at most dashboard_cache.TURNOUT_S old).
PUSH_INTERVAL_S = 1.0
#: Browsers may keep the page's script, style and charting library this long (seconds).
STATIC_MAX_AGE_S = 3600

READERS = ("admin", "monitor", "territorial")


class KitCreate(BaseModel):
    """Provision a kit for a station."""

    station_id: str = Field(min_length=1, max_length=16)
    kit_id: str = Field(min_length=1, max_length=16)
    training: bool = False


class KitRevoke(BaseModel):
    """Why a kit is revoked (lost, stolen, broken)."""

    reason: str = Field(min_length=1, max_length=200)


class TokenCreate(BaseModel):
    """A new API token."""

    name: str = Field(min_length=1, max_length=64)
    role: str
    area: str = ""


class ReferenceCurveIn(BaseModel):
    """A previous election's national curve: local hour -> cumulative percent."""

    label: str = Field(min_length=1, max_length=64)
    points: dict[int, float]


def _session(request: Request) -> Iterator[Session]:
    sessions: sessionmaker[Any] = request.app.state.sessions
    with sessions.begin() as session:
        yield session


SessionDep = Annotated[Session, Depends(_session)]


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    # EventSource cannot set headers: the live page passes its token in the query.
    return request.query_params.get("access_token")


def _principal(request: Request) -> access.Principal:
    settings: ServerSettings = request.app.state.settings
    with request.app.state.sessions() as session:
        principal = access.authenticate(session, _token(request), settings.admin_token)
    if principal is None:
        request.state.principal = access.Principal(name="invalid-token", role="none")
        raise HTTPException(401, "unknown or revoked token: ask the CEC administrator for a new one")
    request.state.principal = principal
    return principal


def require(*roles: str) -> Callable[..., access.Principal]:
    """A dependency admitting only ``roles``."""

    def check(principal: Annotated[access.Principal, Depends(_principal)]) -> access.Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"this needs one of the roles {', '.join(roles)}; you are {principal.role}")
        return principal

    return check


Reader = Annotated[access.Principal, Depends(require(*READERS))]
Admin = Annotated[access.Principal, Depends(require("admin"))]
Anyone = Annotated[access.Principal, Depends(_principal)]


def create_app(
    sessions: sessionmaker[Any], settings: ServerSettings, keys: ServerKeys, stats: IngestStats | None = None
) -> FastAPI:
    """The FastAPI application, bound to a database, settings and the server's keys."""
    audit_buffer = access.AuditBuffer(sessions)
    snapshots = DashboardCache(sessions, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The first page to open finds the national snapshot ready (kit health and anomalies take longest).
        threading.Thread(target=snapshots.state_json, args=("",), name="dashboard-warm", daemon=True).start()
        yield
        audit_buffer.flush()  # what the last second's requests read is not lost on shutdown

    app = FastAPI(
        lifespan=lifespan,
        title="Shailoo ID CEC server",
        description="Live turnout from the polling stations' identification kits: turnout, kit status, anomalies, "
        "open data for observers, station registry and kit provisioning. Send `Authorization: Bearer TOKEN`; "
        "open-data routes need no token.",
        version="0.2.0",
    )
    app.state.sessions = sessions
    app.state.settings = settings
    app.state.keys = keys
    app.state.stats = stats or IngestStats()

    app.state.audit = audit_buffer
    app.state.dashboard = snapshots
    # JSON, CSV and the charting library compress 4-10x; the push stream (text/event-stream) is left alone.
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=5)

    @app.middleware("http")
    async def audit_requests(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        if request.url.path.startswith("/api/") and request.url.path != "/api/health":
            principal = getattr(request.state, "principal", access.ANONYMOUS)
            query = "&".join(f"{k}={v}" for k, v in request.query_params.items() if k != "access_token")
            audit_buffer.add(principal, request.method, request.url.path, query, response.status_code)
            if audit_buffer.due():
                await run_in_threadpool(audit_buffer.flush)
        return response


    @app.exception_handler(RegistryError)
    async def _registry_error(_request: Request, exc: RegistryError) -> Response:
        return PlainTextResponse(str(exc), status_code=422)

    @app.exception_handler(NotFoundError)
    async def _not_found(_request: Request, exc: NotFoundError) -> Response:
        return PlainTextResponse(str(exc), status_code=404)

    # Public ----------------------------------------------------------------------------------------------------
    @app.get("/api/health", summary="Liveness of the server and ingest counters", tags=["public"])
    def health() -> dict[str, Any]:
        return {"status": "ok", "ingest": asdict(app.state.stats), "election_mode": settings.election_mode}

    @app.get("/api/turnout", summary="Identifications per station and nationally (public feed)", tags=["public"])
    def turnout_public(session: SessionDep, _who: Anyone) -> dict[str, Any]:
        return turnout.turnout_by_station(session)

    @app.get("/api/turnout/stations", summary="Identifications at the given stations", tags=["public"])
    def turnout_stations(
        session: SessionDep, _who: Anyone, ids: Annotated[str, Query(description="comma-separated station ids")]
    ) -> dict[str, int]:
        wanted = [s for s in ids.split(",") if s][:500]
        return turnout.station_counts(session, wanted)

    @app.get("/api/open/turnout.json", summary="Per-station hourly turnout (open data, JSON)", tags=["open data"])
    def open_json(session: SessionDep, _who: Anyone) -> dict[str, Any]:
        return {"columns": list(opendata.OPEN_COLUMNS), "rows": opendata.hourly_rows(session)}

    @app.get("/api/open/turnout.csv", summary="Per-station hourly turnout (open data, CSV)", tags=["open data"],
             response_class=PlainTextResponse)
    def open_csv(session: SessionDep, _who: Anyone) -> Response:
        return Response(opendata.hourly_csv(opendata.hourly_rows(session)), media_type="text/csv; charset=utf-8")

    @app.get("/api/open/snapshot", summary="Signed snapshot of the hourly turnout (Ed25519)", tags=["open data"])
    def open_snapshot(session: SessionDep, _who: Anyone) -> dict[str, str]:
        return opendata.signed_snapshot(session, keys.signing)

    @app.get("/api/reference-curve", summary="The previous election's national curve", tags=["public"])
    def get_reference(session: SessionDep, _who: Anyone) -> dict[str, Any]:
        return turnout.reference_curve(session)

    # CEC and territorial commissions -----------------------------------------------------------------------------
    @app.get("/api/turnout/summary", summary="Turnout by hour, oblast, district, station, sex and path",
             tags=["turnout"])
    def summary(session: SessionDep, who: Reader) -> dict[str, Any]:
        return turnout.turnout_summary(session, who.scope_area)

    @app.get("/api/kits", summary="Station and kit status: last seen, devices, outbox, throughput", tags=["kits"])
    def kits(session: SessionDep, who: Reader) -> list[dict[str, Any]]:
        return turnout.kit_status(session, who.scope_area)

    @app.get("/api/anomalies", summary="Anomaly feed", tags=["turnout"])
    def anomalies(session: SessionDep, who: Reader) -> list[dict[str, Any]]:
        return find_anomalies(session, None, who.scope_area, settings.opening_hour, settings.closing_hour)

    @app.get("/api/turnout/stations/table", summary="One page of the dashboard's station table", tags=["turnout"])
    def station_table(
        who: Reader,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_ROWS)] = 100,
        sort: Annotated[str, Query(description=f"one of {', '.join(SORT_KEYS)}")] = "station_id",
        dir: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",  # noqa: A002 - the query parameter's name
        q: Annotated[str, Query(max_length=64, description="filter: station id, oblast or district")] = "",
    ) -> dict[str, Any]:
        if sort not in SORT_KEYS:
            raise HTTPException(422, f"sort must be one of {', '.join(SORT_KEYS)}")
        rows = snapshots.stations(who.scope_area or "")
        return station_page(rows, offset, limit, sort, dir == "desc", q)

    @app.get("/api/stream", summary="Server-sent events: the dashboard state every second", tags=["turnout"])
    async def stream(request: Request, who: Reader) -> StreamingResponse:
        area = who.scope_area or ""

        async def events() -> AsyncIterator[str]:
            last = ""
            while not await request.is_disconnected():
                body = await run_in_threadpool(snapshots.state_json, area)
                if body != last:
                    last = body
                    yield f"event: state\ndata: {body}\n\n"
                else:
                    yield ": keep-alive\n\n"
                await asyncio.sleep(PUSH_INTERVAL_S)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # Administration ------------------------------------------------------------------------------------------
    @app.get("/api/rejections", summary="Refused messages (forged, replayed, malformed, revoked)", tags=["admin"])
    def rejections(session: SessionDep, _who: Annotated[access.Principal, Depends(require("admin", "monitor"))],
                   limit: int = 200) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from sync_server.models import Rejection

        rows = session.scalars(select(Rejection).order_by(Rejection.id.desc()).limit(min(limit, 2000)))
        return [{"at": r.at.isoformat(), "kind": r.kind, "peer": r.peer, "detail": r.detail} for r in rows]

    @app.post("/api/registry", summary="Import the administrative structure (registry CSV)", tags=["admin"])
    async def import_registry(request: Request, _who: Admin) -> dict[str, int]:
        text = (await request.body()).decode("utf-8", errors="replace")
        rows = registry.parse_registry_csv(text)
        with sessions.begin() as session:
            return {"stations": registry.import_registry(session, rows)}

    @app.post("/api/kits", summary="Provision a kit: returns its key file (shown once)", tags=["admin"])
    def provision(body: KitCreate, session: SessionDep, _who: Admin) -> dict[str, Any]:
        kit_keys = registry.provision_kit(session, body.station_id, body.kit_id, keys.curve.public, body.training)
        return {"format": "shailoo-kit-keys/1", **asdict(kit_keys)}

    @app.post("/api/kits/{station_id}/{kit_id}/revoke", summary="Revoke a lost or stolen kit", tags=["admin"])
    def revoke(station_id: str, kit_id: str, body: KitRevoke, session: SessionDep, _who: Admin) -> dict[str, str]:
        registry.revoke_kit(session, station_id, kit_id, body.reason)
        return {"status": "revoked"}

    @app.post("/api/tokens", summary="Create an API token (shown once)", tags=["admin"])
    def new_token(body: TokenCreate, session: SessionDep, _who: Admin) -> dict[str, str]:
        return {"name": body.name, "role": body.role, "token": access.create_token(session, body.name, body.role,
                                                                                   body.area)}

    @app.get("/api/audit", summary="Who read what, newest first", tags=["admin"])
    def audit(session: SessionDep, _who: Admin, limit: int = 200) -> list[dict[str, object]]:
        audit_buffer.flush()
        return access.audit_log(session, min(limit, 5000))

    @app.put("/api/reference-curve", summary="Load the previous election's curve", tags=["admin"])
    def put_reference(body: ReferenceCurveIn, session: SessionDep, _who: Admin) -> dict[str, str]:
        try:
            turnout.load_reference_curve(session, body.label, body.points)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"status": "loaded"}

    # The live page -------------------------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    @app.get("/dashboard", include_in_schema=False)
    def dashboard() -> HTMLResponse:
        return HTMLResponse(dashboard_html())

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js(request: Request) -> Response:
        cache = {"Cache-Control": f"max-age={STATIC_MAX_AGE_S}", "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):  # 4.8 MB -> 1.4 MB, compressed once per process
            return Response(plotly_js_gzip(), media_type="text/javascript",
                            headers={**cache, "Content-Encoding": "gzip"})
        return FileResponse(plotly_js_path(), media_type="text/javascript", headers=cache)

    @app.get("/static/{name}", include_in_schema=False)
    def static_file(name: str) -> FileResponse:
        folder = Path(__file__).resolve().parent / "static"
        path = folder / name
        if name not in {"dashboard.js", "dashboard.css"} or not path.exists():
            raise HTTPException(404, "no such file")
        return FileResponse(path, headers={"Cache-Control": f"max-age={STATIC_MAX_AGE_S}"})

    return app
