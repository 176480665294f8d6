"""One error family for the kit; messages tell the poll worker what to do next."""


class StationError(Exception):
    """Base of every kit error."""


class VoterListError(StationError):
    """The voter list is missing, malformed or not for this station; the previous list stays in place."""


class StoreError(StationError):
    """The kit's store could not record something (for example the disk is full); nothing was half-written."""
