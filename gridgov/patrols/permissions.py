"""Who may do what with patrols and daily reports, by role; the API routes and the console read these.

Admins pass every check (`auth_required`, `User.may`). Whose tracks a user may read is scope
(`patrols/services.py`), not a role list.
"""

PATROLLERS = ("grid_worker",)  # walk a patrol and send its points
PLANNERS = ("staff",)  # set how often a micro-grid must be patrolled
REPORT_READERS = ("staff", "leader", "grid_worker")  # the daily report (日报)
