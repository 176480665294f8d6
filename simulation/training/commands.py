"""``shailoo sim train SCENARIO`` (and ``shailoo station train``): play a scenario at the terminal, print the
scorecard page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from shailoo.settings import var_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``sim train`` and ``station train``."""
    parser.add_argument("scenario", type=Path, help="scenario file (TOML), e.g. "
                        "simulation/training/scenarios/first_morning.toml")
    parser.add_argument("--trainee", default="trainee", help="the trainee's name for the scorecard")
    parser.add_argument("--answers", type=Path, default=None,
                        help="decisions one per line instead of typing them (for trainers preparing a session)")
    parser.add_argument("--out", type=Path, default=None, help="scorecard page (default: VAR/training/<trainee>.html)")
    parser.add_argument("--var", type=Path, default=var_dir(), help="folder for the training kit's store")
    parser.add_argument("--screen", action="store_true",
                        help="play on the kit's real operator screen with emulated devices (open the printed URL)")
    parser.add_argument("--port", type=int, default=8700, help="web port with --screen (default: %(default)s)")
    parser.set_defaults(handler=run_command)


def add_command(sub: Any) -> None:
    """Register ``train`` under a subcommand group."""
    add_arguments(sub.add_parser(
        "train", help="training mode: play a scenario (a queue of voters and faults), print a scorecard",
        description="Play a training scenario on a training kit store (election id TRAINING-<station>): for each "
        "voter the screen says what the operator sees; type the decision; at the end a printable scorecard."))


def run_command(args: argparse.Namespace) -> int:
    """Play the scenario at the terminal (or from --answers, or on the operator screen) and write the scorecard."""
    from simulation.training import DECISIONS, Prompt, TrainingError, load_scenario, run_scenario, score
    from simulation.training.scorecard import scorecard_html

    if getattr(args, "screen", False):
        return _run_screen(args)
    try:
        scenario = load_scenario(args.scenario)
        answers = None
        if args.answers:
            answers = [a.strip() for a in args.answers.read_text("utf-8").splitlines() if a.strip()]
            if len(answers) < len(scenario.voters):
                raise TrainingError(f"{args.answers} has {len(answers)} decisions for {len(scenario.voters)} voters")

        def ask(prompt: Prompt) -> str:
            print(f"\n*** TRAINING *** voter {prompt.position}/{prompt.total}: {prompt.name} ({prompt.personal_number})")
            print(f"    {prompt.signs}")
            if answers is not None:
                print(f"    decision: {answers[prompt.position - 1]}")
                return answers[prompt.position - 1]
            for i, d in enumerate(DECISIONS, 1):
                print(f"    {i:2d}. {d}")
            while True:
                raw = input("    decision (number): ").strip()
                if raw.isdigit() and 1 <= int(raw) <= len(DECISIONS):
                    return DECISIONS[int(raw) - 1]
                print("    type one of the numbers above")

        work = args.var / "training"
        work.mkdir(parents=True, exist_ok=True)
        db = work / f"kit-{args.trainee}.db"
        for old in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            old.unlink(missing_ok=True)  # every session starts from an empty training kit
        records = run_scenario(scenario, ask, db)
    except (TrainingError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = args.out or work / f"{args.trainee}.html"
    out.write_text(scorecard_html(scenario, args.trainee, records), encoding="utf-8")
    s = score(records)
    print(f"\nTRAINING scorecard: {s.correct}/{s.voters} correct, {s.errors} errors, "
          f"{s.mean_seconds:.1f} s per voter; printable page: {out}")
    return 0


def _run_screen(args: argparse.Namespace) -> int:
    """Serve the training kit's operator screen and the trainer's page until Ctrl-C; write the scorecard when the
    queue is done."""
    import time
    from datetime import UTC, datetime

    from simulation.training import TrainingError, load_scenario, score
    from simulation.training.scorecard import scorecard_html
    from simulation.training.serve import training_server

    work = args.var / "training" / f"screen-{args.trainee}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    out = args.out or work / "scorecard.html"
    try:
        scenario = load_scenario(args.scenario)
        print("training: building the training kit (the queue's fingers are drawn and enrolled)...", flush=True)
        with training_server(scenario, work, args.trainee, port=args.port) as (url, session):
            if session.card_missing:
                print(f"training: no ID-card reader ({session.card_missing}); card_unreadable and forged_card are "
                      "told on the trainer's page", flush=True)
            if session.link_missing:
                print(f"training: no CEC link ({session.link_missing}); network_down is told on the trainer's page",
                      flush=True)
            print(f"*** TRAINING *** operator screen: {url}/   trainer's page: {url}/training   (Ctrl-C to stop)",
                  flush=True)
            written = False
            try:
                while True:
                    time.sleep(0.5)
                    if session.finished and not written:
                        out.write_text(scorecard_html(scenario, args.trainee, session.records,
                                                      events=session.events()),
                                       encoding="utf-8")
                        s = score(session.records)
                        print(f"TRAINING scorecard: {s.correct}/{s.voters} correct; printable page: {out}",
                              flush=True)
                        written = True
            except KeyboardInterrupt:
                pass
    except (TrainingError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
