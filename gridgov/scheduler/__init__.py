"""The scheduler process: APScheduler in its own process, one active leader at a time."""
