"""Notifications: the outbox the scheduler fills and delivers from."""
