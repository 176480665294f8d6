"""What the operator screen says about the kit's link to the CEC, read from the kit's own outbox.

On a polling-station kit the screen (``station serve``) and the sender (``station send``) are separate processes
sharing the store, so the screen judges the link by its effect: messages waiting in the outbox, and whether any was
acknowledged lately. The poll worker needs two things from it: keep identifying (nothing is lost, the outbox keeps
every message) and call the technician when the link stays down.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from station.store import KitStore

#: Seconds with messages waiting and no acknowledgement before the screen says OFFLINE. The sender resends an entry
#: only after 60 s without any acknowledgement (link.sender), so a quieter link than this is not just a slow one.
LINK_QUIET_S = 60.0


class OutboxLink:
    """The CEC link as seen from the outbox: ``status()`` gives ``{"online": bool, "waiting": int}``.

    Online means nothing is waiting, or something was delivered (or the oldest waiting message was written) less than
    ``quiet_s`` ago, so the sender has had no minute-long silence to explain."""

    def __init__(self, store: KitStore, quiet_s: float = LINK_QUIET_S,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.quiet_s = quiet_s
        self.clock = clock

    def status(self) -> dict[str, Any]:
        """Online or not, and the number of messages not yet acknowledged by the CEC."""
        waiting, oldest_waiting, last_delivered = self.store.outbox_state()
        if waiting == 0 or oldest_waiting is None:
            return {"online": True, "waiting": 0}
        progress = max(t for t in (oldest_waiting, last_delivered) if t is not None)
        return {"online": (self.clock() - progress).total_seconds() < self.quiet_s, "waiting": waiting}
