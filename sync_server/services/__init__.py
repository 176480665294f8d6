"""Service functions: the only place where the server's rules live. HTTP routes and the ZeroMQ ingest call these."""

from sync_server.services.ingest import IngestResult, KitIdentity, ingest_identifications, record_heartbeat
from sync_server.services.turnout import kit_status, turnout_by_station, turnout_summary

__all__ = [
    "IngestResult",
    "KitIdentity",
    "ingest_identifications",
    "kit_status",
    "record_heartbeat",
    "turnout_by_station",
    "turnout_summary",
]
