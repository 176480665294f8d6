"""Allow ``python -m shailoo``."""

from shailoo.cli import main

raise SystemExit(main())
