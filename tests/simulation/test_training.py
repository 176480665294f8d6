"""Training mode: scenario files (errors name what to fix), the scoring, and one scenario end to end on a training
kit store through the kit's own identification API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shailoo.cli import main
from simulation.training import (
    SCENARIOS_DIR,
    SITUATIONS,
    Prompt,
    ScenarioError,
    load_scenario,
    parse_scenario,
    run_scenario,
    score,
    scorecard_html,
)
from simulation.training.runner import identified_count
from station.store import KitStore

FIRST = Path(SCENARIOS_DIR) / "first_morning.toml"
HEAD = '[training]\ntitle = "t"\nstation = "1001"\n'


def test_shipped_scenario_covers_every_situation() -> None:
    scenario = load_scenario(FIRST)
    assert {v.situation for v in scenario.voters} == set(SITUATIONS)
    assert scenario.election_id == "TRAINING-1001"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[training\n", "not valid TOML"),
        ("[[voter]]\nlist_number = 1\n", "section .* is missing"),
        ('[training]\nstation = "1001"\n[[voter]]\nlist_number = 1\n', "needs a title"),
        ('[training]\ntitle = "t"\nstation = 1001\n[[voter]]\nlist_number = 1\n', "four-digit"),
        (HEAD, "queue is empty"),
        (HEAD + "[[voter]]\nlist_number = 0\n", "list_number"),
        (HEAD + '[[voter]]\nlist_number = 1\nsituation = "alien"\n', "unknown situation 'alien'"),
        (HEAD + '[[voter]]\nlist_number = 1\nexpect = ["dance"]\n', "expect must list"),
        (HEAD + "[[voter]]\nlist_number = 1\ncolour = 1\n", "unknown field"),
        (HEAD + "[extra]\n", "unknown section"),
    ],
)
def test_malformed_scenarios_say_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as info:
        parse_scenario(text, "class3.toml")
    assert "class3.toml" in str(info.value)


def _trainee(answers: dict[int, str]) -> Callable[[Prompt], str]:
    def decide(prompt: Prompt) -> str:
        return answers[prompt.position]

    return decide


def test_scenario_end_to_end_on_the_kit(tmp_path: Path) -> None:
    scenario = load_scenario(FIRST)
    # Everything right except: identified an already-voted voter, and tried the finger during the power cut.
    answers = {1: "card_finger", 2: "manual:worn_prints", 3: "finger", 4: "redirect", 5: "card_finger",
               6: "refuse", 7: "card_photo", 8: "reload_paper", 9: "finger", 10: "finger"}
    ticks = iter(range(100))
    records = run_scenario(scenario, _trainee(answers), tmp_path / "kit.db", clock=lambda: float(next(ticks)) * 4)
    s = score(records)
    assert (s.voters, s.correct, s.errors) == (10, 8, 2)
    assert s.mean_seconds == 4.0
    wrong = [r for r in records if not r.correct]
    assert [(r.case.situation, r.decision) for r in wrong] == [("already_voted", "card_finger"), ("power_cut", "finger")]
    # The kit itself refused the second identification: its refusal is the real one.
    assert wrong[0].kit_outcome == "already_voted"
    assert wrong[1].kit_outcome.startswith("kit is off")
    # The training store holds the election id TRAINING-1001 and the identifications that were made:
    # voters 1, 2, 3, the earlier mark of 5, 7, 8 (before paper ran out), 9.
    store = KitStore(tmp_path / "kit.db")
    try:
        assert store.kit_info().election_id == "TRAINING-1001"
        assert identified_count(store) == 7
    finally:
        store.close()


def test_power_cut_restart_keeps_the_store(tmp_path: Path) -> None:
    scenario = parse_scenario(HEAD + "[[voter]]\nlist_number = 1\n[[voter]]\nlist_number = 2\nsituation = "
                              '"power_cut"\n', "cut.toml")
    records = run_scenario(scenario, _trainee({1: "finger", 2: "restart"}), tmp_path / "kit.db")
    assert all(r.correct for r in records)
    assert records[1].kit_outcome == "restarted, 1 of 1 identifications kept; identified"


def test_scorecard_page_is_marked_training_and_lists_errors(tmp_path: Path) -> None:
    scenario = load_scenario(FIRST)
    answers = dict.fromkeys(range(1, 11), "refuse")
    records = run_scenario(scenario, _trainee(answers), tmp_path / "kit.db")
    page = scorecard_html(scenario, "Айбек <script>", records)
    assert page.count("TRAINING") >= 3
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert page.count('class="error"') == 8  # refuse is right only for already_voted and forged_card
    assert "2 of 10" in page and "@media print" in page


def test_cli_with_answers_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = tmp_path / "answers.txt"
    answers.write_text("card_finger\ncard_photo\nfinger\nredirect\nrefuse\nrefuse\nmanual:device_fault\n"
                       "reload_paper\nfinger\nrestart\n", encoding="utf-8")
    out = tmp_path / "card.html"
    assert main(["sim", "train", str(FIRST), "--answers", str(answers), "--var", str(tmp_path), "--out", str(out),
                 "--trainee", "Aibek"]) == 0
    assert "10/10 correct" in capsys.readouterr().out
    assert "Scorecard: Aibek" in out.read_text("utf-8")
    short = tmp_path / "short.txt"
    short.write_text("refuse\n", encoding="utf-8")
    assert main(["sim", "train", str(FIRST), "--answers", str(short), "--var", str(tmp_path)]) == 1
    assert "1 decisions for 10 voters" in capsys.readouterr().err


def test_station_training_option_plays_interactively(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # `shailoo station --training SCENARIO`: decisions typed by number; a wrong entry is asked again.
    typed = iter(["x", "1", "3", "2", "10", "9", "9", "7", "11", "2", "12"])
    monkeypatch.setattr("builtins.input", lambda _prompt: next(typed))
    assert main(["station", "--db", str(tmp_path / "kit.db"), "--training", str(FIRST)]) == 0
    out = capsys.readouterr().out
    assert "type one of the numbers above" in out and "10/10 correct" in out
    assert (tmp_path / "training" / "trainee.html").exists()
