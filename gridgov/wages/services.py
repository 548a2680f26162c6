"""Interim: the names the console read from here before the wages split (removed once the console
reads the new modules)."""

from gridgov.wages.clocks import case_clocks  # noqa: F401
from gridgov.wages.queries import case_notices, case_parties, case_timeline, get_case, paid_fen, reveal  # noqa: F401
from gridgov.wages.states import WageState
from gridgov.wages.workflow import RULES, act  # noqa: F401

STATUS_ZH = {state.value: state.label.zh for state in WageState}
MOVES = {verb: rule.sources for verb, rule in RULES.items()}
