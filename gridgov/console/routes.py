"""The console's blueprint with every page group registered on it (one module per group in
`pages/`: sign-in, the map and issues, the market calendar, reports and figures, wage cases)."""

from gridgov.console import pages as _pages  # noqa: F401  (registers the pages on bp)
from gridgov.console.blueprint import bp

__all__ = ["bp"]
