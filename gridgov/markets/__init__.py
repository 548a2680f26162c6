"""Market days: lunar-calendar schedules, patrol rosters, calendar feeds."""
