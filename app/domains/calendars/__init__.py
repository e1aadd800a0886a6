"""Tenant working calendars: working hours, lunch break, public holidays and make-up working days; business time."""
