"""The kit-to-CEC link: versioned turnout messages and the kit-side sender over ZeroMQ with CURVE."""

from link.errors import LinkError, MessageError
from link.keys import KeyFileError, KeyPair, KitKeys
from link.messages import Ack, Heartbeat, IdentificationEvent, decode, encode
from link.sender import OutboxEntry, OutboxSender

__all__ = [
    "Ack",
    "Heartbeat",
    "IdentificationEvent",
    "KeyFileError",
    "KeyPair",
    "KitKeys",
    "LinkError",
    "MessageError",
    "OutboxEntry",
    "OutboxSender",
    "decode",
    "encode",
]
