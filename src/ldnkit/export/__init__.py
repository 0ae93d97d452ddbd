"""Exports of a patient's record: the plan as iCalendar reminders and printable text, the diary as
CSV (FHIR R4 export is in `ldnkit.fhir.export`)."""
