"""Device profiles: one TOML file per supported scanner, reader and printer (validated by station.devices)."""

from pathlib import Path

#: Folder holding the profile files.
PROFILE_DIR = Path(__file__).resolve().parent
