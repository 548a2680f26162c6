"""The states of a grid issue, once: their titles, their colours on the map and the sets the code
asks about. "Overdue" is `Issue.overdue_at(now)`, one hybrid for SQL and Python over CLOCK_RUNNING."""

from __future__ import annotations

from gridgov.workflow import State, values


class IssueState(State):
    REPORTED = "reported", "已上报", "reported"
    ACCEPTED = "accepted", "已受理", "accepted"
    DISPATCHED = "dispatched", "已派遣", "dispatched"
    IN_PROGRESS = "in_progress", "处置中", "in progress"
    FIXED = "fixed", "已处置待核查", "fixed, to verify"
    DEFERRED = "deferred", "已延期", "deferred"
    CLOSED = "closed", "已办结", "closed"
    REJECTED = "rejected", "不予受理", "rejected"
    MERGED = "merged", "已合并", "merged"


S = IssueState
ALL = values(*IssueState)
OPEN = values(S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.DEFERRED, S.FIXED)
# The time limit runs: open and not deferred (a deferred issue's clock is paused).
CLOCK_RUNNING = tuple(s for s in OPEN if s != S.DEFERRED)
UNFIXED = values(S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.DEFERRED)  # open, not yet fixed
HANDLING = values(S.DISPATCHED, S.IN_PROGRESS)  # with a handler, who may fix or be given more time
TERMINAL = values(S.CLOSED, S.REJECTED, S.MERGED)
NOT_CASES = values(S.REJECTED, S.MERGED)  # not cases to close: out of the figures' set

COLOURS = {
    S.REPORTED: "#1f77b4",
    S.ACCEPTED: "#17becf",
    S.DISPATCHED: "#ff7f0e",
    S.IN_PROGRESS: "#bcbd22",
    S.FIXED: "#9467bd",
    S.DEFERRED: "#7f7f7f",
    S.CLOSED: "#2ca02c",
    S.REJECTED: "#8c564b",
    S.MERGED: "#c7c7c7",
}
