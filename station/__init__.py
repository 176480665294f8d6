"""the identification kit on the commission's table."""
