"""Who may do what with markets and patrol rosters, by role; the API routes and the console read these.

Admins pass every check (`auth_required`, `User.may`).
"""

READERS = ("staff", "patrol", "leader", "department")  # market days, teams, calendars
EDITORS = ("staff",)  # create markets and teams, assign duty, cancel, move or add a day
CHECKERS_IN = ("patrol", "staff")  # check in at today's market
