"""Who may do what with wage cases, by role; the API routes and the console's pages and nav read these.

Admins pass every check (`auth_required`, `User.may`). Which moves an officer may make on one case
is the case workflow's.
"""

OFFICERS = ("wage_officer",)  # work cases: read them, act, reveal, notices, evidence, spot checks
LEDGER_READERS = (*OFFICERS, "leader")  # the ledger (台账) and the figures
EXTENSION_APPROVERS = (*OFFICERS, "leader")  # another officer or a leader approves a longer conclude clock
