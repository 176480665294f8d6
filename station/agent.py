"""The kit's background agent: delivers the outbox to the CEC until stopped."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from link.keys import KitKeys
from link.sender import OutboxSender
from station.errors import StoreError
from station.store import KitStore

log = logging.getLogger(__name__)


def run_sender(
    store: KitStore, endpoint: str, keys: KitKeys, stop: threading.Event | None = None
) -> OutboxSender:
    """Deliver the outbox until ``stop`` is set (or SIGTERM/SIGINT in the main thread); returns the sender.

    ``keys`` is the kit's key file from the CEC; it must be for this store's station and kit.
    """
    info = store.kit_info()
    if (keys.station_id, keys.kit_id) != (info.station_id, info.kit_id):
        raise StoreError(
            f"the key file is for kit {keys.station_id}/{keys.kit_id} but this store is kit "
            f"{info.station_id}/{info.kit_id}: load this kit's own key file"
        )
    # Heartbeats carry liveness and the outbox size; device states join when the device layer reports them here.
    sender = OutboxSender(store, endpoint, keys, health=dict)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():

        def _on_signal(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    log.info("kit %s/%s sending to %s", info.station_id, info.kit_id, endpoint)
    while not stop.is_set():
        sender.run_once(0.2)
    return sender
