"""Errors of the kit-to-CEC link."""


class LinkError(Exception):
    """Base of every link error."""


class MessageError(LinkError):
    """A message is malformed, oversized or of an unknown version; it is refused and logged, never half-applied."""
