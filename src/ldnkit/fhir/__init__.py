"""ldnkit.fhir."""
