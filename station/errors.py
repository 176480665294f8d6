"""One error family for the kit; messages tell the poll worker what to do next."""


class StationError(Exception):
    """Base of every kit error."""


class VoterListError(StationError):
    """The voter list is missing, malformed or not for this station; the previous list stays in place."""


class StoreError(StationError):
    """The kit's store could not record something (for example the disk is full); nothing was half-written."""


class SigningKeyError(StationError):
    """The kit's signing key file is missing, unreadable or not an Ed25519 key."""


class ListPackageError(VoterListError):
    """A station list package is refused (bad signature, truncated, another election or station); nothing loaded."""


class WorkflowError(StationError):
    """An identification step was asked for in a state that does not allow it, or without the needed role."""


class PermissionDenied(StationError):
    """The logged-in poll worker's role does not allow this action (for example a reprint needs a supervisor)."""
