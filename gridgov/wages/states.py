"""The states of a wage case, once: their titles (what the claimant and the officer read) and the
sets the code asks about."""

from __future__ import annotations

from gridgov.workflow import State, values


class WageState(State):
    RECEIVED = (
        "received",
        "已收到，等待受理审查",
        "Received; we decide within 5 working days whether to take it up",
    )
    NOT_ACCEPTED = "not_accepted", "不予受理", "Not taken up"
    TRANSFERRED = "transferred", "已移交其他机关", "Passed to another authority"
    MERGED = "merged", "已与其他案件合并办理", "Handled together with another case"
    VERIFYING = "verifying", "已受理，正在核实", "Taken up; officers are checking the facts"
    COORDINATING = (
        "coordinating",
        "正在协调（约谈用工单位）",
        "Officers are talking to the employer about paying",
    )
    PAYMENT_ORDERED = (
        "payment_ordered",
        "已责令限期支付",
        "The employer has been ordered to pay by a deadline",
    )
    PAYMENT_COMMITTED = (
        "payment_committed",
        "总承包单位已承诺支付",
        "The general contractor has promised to pay",
    )
    PAYING = "paying", "正在支付", "Payment under way"
    CALLBACK = "callback", "已支付，等待回访确认", "Paid; we will phone you to confirm"
    CLOSED = "closed", "已结案", "Closed"


S = WageState
ALL = values(*WageState)
STOPPED = values(S.NOT_ACCEPTED, S.TRANSFERRED, S.MERGED)  # the clocks stop without being met
TERMINAL = (*STOPPED, S.CLOSED.value)
OPEN = tuple(s for s in ALL if s not in TERMINAL)
TAKEN_UP = values(S.VERIFYING, S.COORDINATING)  # accepted, before any order or commitment
PAYMENT_DUE = values(S.PAYMENT_ORDERED, S.PAYMENT_COMMITTED, S.PAYING)
UNDER_CONCLUDE_CLOCK = (*TAKEN_UP, *PAYMENT_DUE, S.CALLBACK.value)  # accepted and not concluded
