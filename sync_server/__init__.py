"""the CEC server."""
