"""The trainee's scorecard: correct decisions, time per voter, errors; a printable HTML page marked TRAINING."""

from __future__ import annotations

import html
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime

from simulation.training.runner import SIGNS, DecisionRecord
from simulation.training.scenario import Scenario


@dataclass(frozen=True)
class Score:
    """The figures of one session."""

    voters: int
    correct: int
    errors: int
    mean_seconds: float
    median_seconds: float
    slowest_seconds: float

    @property
    def percent(self) -> float:
        """Correct decisions, percent."""
        return 100.0 * self.correct / self.voters if self.voters else 0.0


def score(records: list[DecisionRecord]) -> Score:
    """Count correct decisions and time per voter."""
    times = [r.seconds for r in records] or [0.0]
    correct = sum(1 for r in records if r.correct)
    return Score(voters=len(records), correct=correct, errors=len(records) - correct,
                 mean_seconds=round(statistics.fmean(times), 1), median_seconds=round(statistics.median(times), 1),
                 slowest_seconds=round(max(times), 1))


_CSS = """
body { font-family: "DejaVu Sans", sans-serif; margin: 2em; color: #000; }
.training { border: 3px solid #b00; color: #b00; font-weight: bold; text-align: center; padding: .4em;
            letter-spacing: .3em; }
table { border-collapse: collapse; width: 100%; margin-top: 1em; }
th, td { border: 1px solid #444; padding: .3em .5em; text-align: left; vertical-align: top; font-size: 11pt; }
tr.error td { background: #fde2e2; }
.figures td { font-size: 13pt; }
@media print { body { margin: 1cm; } tr { page-break-inside: avoid; } }
"""


def scorecard_html(scenario: Scenario, trainee: str, records: list[DecisionRecord],
                   when: datetime | None = None, events: list[str] | None = None) -> str:
    """The printable page (A4, one row per voter; errors highlighted); ``events``: what the scenario did to the
    kit's devices (trainer commands sent to the emulators, restarts), listed under the table."""
    s = score(records)
    when = when or datetime.now(UTC)
    e = html.escape
    rows = []
    for r in records:
        rows.append(
            f'<tr class="{"ok" if r.correct else "error"}"><td>{r.case.position}</td><td>{e(r.case.situation)}'
            f'<br><small>{e(SIGNS[r.case.situation])}</small></td><td>{e(r.decision)}</td>'
            f'<td>{e(" or ".join(r.case.expect))}</td><td>{"correct" if r.correct else "ERROR"}</td>'
            f'<td>{e(r.kit_outcome)}</td><td>{r.seconds:.1f}</td><td>{e(r.case.note)}</td></tr>'
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TRAINING scorecard: {e(trainee)}</title>
<style>{_CSS}</style></head><body>
<div class="training">TRAINING · ТРЕНИНГ · НЕ ДЛЯ ВЫБОРОВ</div>
<h1>Scorecard: {e(trainee)}</h1>
<p>Scenario <b>{e(scenario.title)}</b> ({e(scenario.source)}), station {e(scenario.station)},
election {e(scenario.election_id)}, {when:%Y-%m-%d %H:%M} UTC.</p>
<table class="figures"><tr><td>Correct decisions</td><td><b>{s.correct} of {s.voters}</b> ({s.percent:.0f}%)</td></tr>
<tr><td>Errors</td><td><b>{s.errors}</b></td></tr>
<tr><td>Time per voter</td><td>mean {s.mean_seconds:.1f} s, median {s.median_seconds:.1f} s,
slowest {s.slowest_seconds:.1f} s</td></tr></table>
<table><thead><tr><th>#</th><th>Situation (what the operator saw)</th><th>Decision</th><th>Expected</th>
<th>Result</th><th>Kit</th><th>Seconds</th><th>Note</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
{_events(events)}
<p>Trainer's signature: ______________________ &nbsp; Trainee's signature: ______________________</p>
<div class="training">TRAINING · ТРЕНИНГ</div>
</body></html>
"""


def _events(events: list[str] | None) -> str:
    if not events:
        return ""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in events)
    return f'<h2>Device events</h2><ul class="events">{items}</ul>'
