"""Errors of the CEC server: one family, messages that say what to do."""


class ServerError(Exception):
    """Base of every server error."""


class SettingsError(ServerError):
    """The server's settings are unsafe or inconsistent (e.g. a default secret outside development)."""


class RegistryError(ServerError):
    """An administrative-structure import or a kit provisioning request is invalid."""


class NotFoundError(ServerError):
    """A station, kit or token does not exist."""
