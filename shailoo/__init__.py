"""Shailoo ID: the command-line front door and settings shared by every component."""

__version__ = "0.1.0"
