"""Reservations of the public testing labs: rules, availability, conflicts, approval, calendars."""
