"""HTTP API of the CEC server (FastAPI). Routes only translate HTTP to service calls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from sqlalchemy.orm import Session, sessionmaker

from sync_server import services


def _session(request: Request) -> Iterator[Session]:
    sessions: sessionmaker[Any] = request.app.state.sessions
    with sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(_session)]


def create_app(sessions: sessionmaker[Any]) -> FastAPI:
    """The FastAPI application, bound to a database."""
    app = FastAPI(
        title="Shailoo ID CEC server",
        description="Live turnout from the polling stations' identification kits.",
        version="0.1.0",
    )
    app.state.sessions = sessions

    @app.get("/api/turnout", summary="Identifications per station and nationally")
    def turnout(session: SessionDep) -> dict[str, Any]:
        return services.turnout_by_station(session)

    @app.get("/api/health", summary="Liveness of the server")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
