"""Grid issues: the closed loop from a phone report to verified closure (日报、日改)."""
