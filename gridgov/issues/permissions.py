"""Who may do what with grid issues, by role; the API routes and the console's pages and nav read these.

Admins pass every check (`auth_required`, `User.may`). Which moves a role may make on one issue is
the workflow's own table (`issues/workflow.py`).
"""

REPORTERS = ("grid_worker", "staff", "patrol")  # report problems, from a phone or a desk
UPLOADERS = (*REPORTERS, "department")  # departments send photos of their fixes
FIGURE_READERS = ("staff", "leader", "department")  # closure, on-time and rework figures
