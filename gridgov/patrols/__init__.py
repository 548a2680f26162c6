"""Patrols (日巡) and the daily report (日报).

GPS tracks are sensitive personal information: a worker sees his own, his supervisors those in
their scope, nobody else; raw points are deleted after the retention period."""
