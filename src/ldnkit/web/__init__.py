"""ldnkit.web."""
