"""The training web server: the kit's own operator screen (``station.ui``, unchanged, in training mode) and, under
``/training``, the trainer's page: who is at the table, the physical actions no screen records, the next voter and
the scorecard.

One ASGI dispatcher serves both: ``/training...`` goes to the trainer's page, everything else to the kit's screen of
the moment (a new one after each restart), or to a dark page while the power is cut.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from simulation.training.errors import TrainingError
from simulation.training.kit import STAFF
from simulation.training.scorecard import scorecard_html
from simulation.training.session import ACTIONS, ScreenSession

#: Labels of the physical actions on the trainer's page (ky / ru / en, as on the kit's screen).
ACTION_LABELS = {
    "refuse": "Бюллетень берилбейт / Отказать в бюллетене / Refuse the ballot",
    "redirect": "Өз участогуна жөнөтүү / Направить на свой участок / Send to own station",
    "reload_paper": "Жаңы кагаз салуу / Вставить новый рулон / Load a new paper roll",
    "plug_scanner": "Сканерди кайра сайуу / Подключить сканер / Plug the scanner back in",
    "restart": "Күйгүзүү / Кнопка питания / Power button",
    "network_back": "Тармакты кайра кошуу / Вернуть сеть / Bring the network back",
}

_CSS = """
body { font-family: "DejaVu Sans", sans-serif; margin: 1.5em; }
.training { background: #b00; color: #fff; font-weight: bold; text-align: center; padding: .4em; letter-spacing: .3em; }
.card { border: 2px solid #345; border-radius: 8px; padding: 1em; display: flex; gap: 1em; margin: 1em 0; }
.signs { background: #fff4d6; border: 1px solid #c90; padding: .6em; }
form { display: inline-block; margin: .3em; }
button { font-size: 1.05em; padding: .5em .8em; }
.log { color: #555; font-size: .9em; }
"""


def trainer_page(session: ScreenSession, message: str = "") -> str:
    """The trainer's page: the voter at the table, the physical actions, next voter / scorecard."""
    e = html.escape
    s = session.scenario
    pins = ", ".join(f"{name}: {pin}" for _, name, _, pin in STAFF)
    state = session.current
    done = len(session.records)
    parts = ['<div class="training" id="training-banner">TRAINING · ТРЕНИНГ · НЕ ДЛЯ ВЫБОРОВ</div>',
             f"<h1>{e(s.title)}</h1>",
             f'<p>Station {e(s.station)}, election <b>{e(s.election_id)}</b>. Operator screen: <a href="/" '
             f'target="kit">/</a>. PINs: {e(pins)}</p>']
    if message:
        parts.append(f'<p id="message"><b>{e(message)}</b></p>')
    if state is not None:
        v = state.voter
        card = v.id_card
        parts.append(
            f'<div class="card" id="voter"><img src="/training/photo" alt="photo" width="96" height="128">'
            f'<div><div id="position">Voter {state.case.position} of {len(s.voters)}</div>'
            f'<h2 id="voter-name">{e(str(v.name))}</h2>'
            f'<div>ID card <b>{e(card.document_number)}</b>, personal number <b id="voter-pin">'
            f'{e(v.personal_number)}</b></div>'
            f'<div>Back of the card (MRZ): <pre id="voter-mrz">{e(card.mrz.text)}</pre></div>'
            f'<div>{e(state.case.note)}</div></div></div>')
        signs = session.signs()
        if signs:
            parts.append(f'<p class="signs" id="signs">{e(signs)}</p>')
        if not session.powered:
            parts.append('<p class="signs" id="kit-off">The kit\'s screen is black: the power is cut.</p>')
        for action in ACTIONS:
            parts.append(f'<form method="post" action="/training/action/{action}"><button id="action-{action}">'
                         f'{e(ACTION_LABELS[action])}</button></form>')
        parts.append('<p><form method="post" action="/training/next"><button id="done-voter">'
                     'Бүттү / Готово / Done with this voter</button></form></p>')
    elif session.finished:
        parts.append(f'<p id="finished">All {done} voters handled. <a id="scorecard-link" '
                     'href="/training/scorecard">Scorecard</a></p>')
    else:
        parts.append(f'<p>{done} of {len(s.voters)} voters handled.</p><form method="post" action="/training/next">'
                     '<button id="call-voter">Кийинки шайлоочу / Следующий избиратель / Call the next voter</button>'
                     '</form>')
    if session.card_missing:
        parts.append(f'<p class="signs" id="card-missing">No card reader on this machine: {e(session.card_missing)}. '
                     'The card situations are told here.</p>')
    if session.link_missing:
        parts.append(f'<p class="signs" id="link-missing">No CEC link: {e(session.link_missing)}.</p>')
    if session.link is not None:
        up = "up" if session.link.up else "DOWN"
        parts.append(f'<p class="log" id="link-state" data-up="{int(session.link.up)}">Network: {up}; '
                     f'{session.link.waiting()} messages waiting. {"; ".join(e(x) for x in session.link_events[-3:])}'
                     '</p>')
    parts.append(f'<p class="log">Devices: {"; ".join(e(line) for line in session.devices.log.lines[-5:])}</p>')
    return (f'<!doctype html><html lang="ky"><head><meta charset="utf-8"><title>TRAINING: {e(s.title)}</title>'
            f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")


_KIT_OFF = ('<!doctype html><html><head><meta charset="utf-8"><title>kit off</title></head>'
            '<body style="background:#000;color:#222" id="kit-off"></body></html>')


def training_app(session: ScreenSession, trainee: str) -> Any:
    """The ASGI app: ``/training`` for the trainer's page, the kit's operator screen for everything else."""
    page = FastAPI(title="Shailoo ID training", docs_url=None, redoc_url=None, openapi_url=None)

    def back(message: str = "") -> RedirectResponse:
        return RedirectResponse("/training" + (f"?message={message}" if message else ""), status_code=303)

    @page.get("/training", response_class=HTMLResponse)
    def trainer(message: str = "") -> HTMLResponse:
        return HTMLResponse(trainer_page(session, message))

    @page.post("/training/next")
    def next_voter() -> RedirectResponse:
        try:
            if session.current is not None:
                record = session.finish_current()
                return back(f"voter {record.case.position}: {record.decision}")
            session.begin_next()
        except TrainingError as exc:
            return back(str(exc))
        return back()

    @page.post("/training/action/{action}")
    def act(action: str) -> RedirectResponse:
        try:
            return back(session.act(action))
        except TrainingError as exc:
            return back(str(exc))

    @page.get("/training/photo")
    def photo() -> Response:
        state = session.current
        if state is None:
            return Response(status_code=404)
        return Response(state.voter.face_png(), media_type="image/png")

    @page.get("/training/scorecard", response_class=HTMLResponse)
    def scorecard() -> HTMLResponse:
        return HTMLResponse(scorecard_html(session.scenario, trainee, session.records, datetime.now(UTC),
                                           events=session.events()))

    async def dispatch(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await page(scope, receive, send)
            return
        path = scope.get("path", "")
        if path == "/training" or path.startswith("/training/"):
            await page(scope, receive, send)
            return
        screen = session.screen if session.powered else None
        if screen is None:
            await HTMLResponse(_KIT_OFF, status_code=503)(scope, receive, send)
            return
        await screen(scope, receive, send)

    return dispatch
