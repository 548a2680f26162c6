"""Working-time calendar: China public holidays and 调休 working weekends, shared by grid issues and wage cases."""
