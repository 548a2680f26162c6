"""Wage-arrears cases (根治欠薪): from a migrant worker's claim to a closed case, with legal clocks."""
