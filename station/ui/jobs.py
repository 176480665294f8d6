"""Device work off the screen's request path: one background job at a time (the kit has one voter on screen).

A capture waits up to 20 s for a finger, a chip read takes about a second, a slip prints in one or two: none of it may
hold a web request, or the screen, its counters and its device status would freeze meanwhile. A route starts the job
and answers at once; the page shows a progress state (polling ``/api/flow``) with a Cancel button, and reloads when
the job is over. Only one job runs at a time; the job is the only writer of the flow while it runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from station.errors import StationError, StoreError
from station.workflow import FINAL, Flow
from station.workflow.capture import CaptureCancelled

log = logging.getLogger(__name__)

#: Job kinds the operator may cancel: waiting for a finger or a card (a commit and its slip run to the end).
CANCELLABLE = frozenset({"capture", "card"})
#: The device each job kind talks to. A job holds that device's lock for its whole run, and so does anything else
#: that talks to the device (reprints, receipts, the printer's status poll): the serial drivers are not thread-safe,
#: and two conversations interleaved on one line would garble both.
JOB_DEVICE = {"capture": "scanner", "card": "card_reader", "confirm": "printer"}


@dataclass
class Job:
    """One background step: what it is, when it began, its cancel flag, and the error key it ended with (if any)."""

    kind: str
    started: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready progress for the screen."""
        return {"kind": self.kind, "seconds": round(time.monotonic() - self.started, 1),
                "cancelling": self.cancel.is_set(), "cancellable": self.kind in CANCELLABLE}


class FlowJobs:
    """Runs flow steps in a daemon thread; ``lock`` is the kit's lock, held only to start a job and to finish one."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        #: One lock per device (see :data:`JOB_DEVICE`).
        self.devices: dict[str, threading.Lock] = {name: threading.Lock() for name in set(JOB_DEVICE.values())}
        self.current: Job | None = None
        #: The error key of the last job that failed (``error.*`` in the catalogues), shown once by the next page.
        self.last_error = ""

    @property
    def busy(self) -> Job | None:
        """The running job, or None."""
        job = self.current
        return job if job is not None and not job.done.is_set() else None

    def start(self, kind: str, flow: Flow, step: Callable[[threading.Event], None]) -> bool:
        """Run ``step(cancel_flag)`` for ``flow`` in the background; False when another job still runs."""
        with self.lock:
            if self.busy is not None:
                return False
            job = Job(kind)
            self.current = job
            self.last_error = ""
        threading.Thread(target=self._run, args=(job, flow, step), name=f"screen-{kind}", daemon=True).start()
        return True

    def _run(self, job: Job, flow: Flow, step: Callable[[threading.Event], None]) -> None:
        device = self.devices[JOB_DEVICE[job.kind]] if job.kind in JOB_DEVICE else threading.Lock()
        try:
            with device:
                step(job.cancel)
        except CaptureCancelled:
            pass  # the flow is cancelled below
        except StoreError:
            job.error = "store"
        except StationError as exc:
            log.warning("%s step failed: %s", job.kind, exc)
            job.error = "step_failed"
        except Exception:  # a bug must not leave the screen spinning forever: log it, tell the operator
            log.exception("%s step crashed", job.kind)
            job.error = "step_failed"
        with self.lock:
            if job.cancel.is_set() and flow.state not in FINAL:
                flow.cancel()
            self.last_error = job.error
            job.done.set()

    def cancel(self) -> Job | None:
        """Ask the running job to stop (only a cancellable one); returns it, or None when nothing can be cancelled."""
        job = self.busy
        if job is None or job.kind not in CANCELLABLE:
            return None
        job.cancel.set()
        return job

    def wait(self, timeout_s: float) -> bool:
        """Block until no job runs (True) or ``timeout_s`` passes (False); for tests and the command line."""
        job = self.current
        return job is None or job.done.wait(timeout_s)
