"""Exports of a titration plan: an iCalendar file of daily reminders and printable text."""
