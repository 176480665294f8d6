"""A kit process identifying as fast as it can, printing ``committed <pin>`` after each commit (for the SIGKILL test).

Run as ``python -m tests.station.kill_worker DB``; it resumes where the last (killed) run stopped.
"""

from __future__ import annotations

import sys

from sqlalchemy import select

from station.identify import FallbackReason, Outcome, identify_manual, mark
from station.identify import Path as IdPath
from station.store import KitStore, Voter


def main(db: str) -> int:
    store = KitStore(db)
    with store.transaction() as session:
        pins = list(session.scalars(select(Voter.personal_number).order_by(Voter.list_number)))
    for i, pin in enumerate(pins):
        # Alternate the paths so the audit chain carries every kind of identification entry.
        if i % 2:
            result = mark(store, pin, IdPath.FINGER, "op", score=0.5)
        else:
            result = identify_manual(store, pin, FallbackReason.WORN_PRINTS, "op", "chair")
        if result.outcome is Outcome.IDENTIFIED:
            # Printed only after the commit returned: everything printed here must survive any later kill.
            print(f"committed {pin}", flush=True)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
