"""The console's pages, one module per page group; importing the package registers them on the blueprint."""

from gridgov.console.pages import issues, markets, reports, session, wages

__all__ = ["issues", "markets", "reports", "session", "wages"]
