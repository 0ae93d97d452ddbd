"""ldnkit.ask."""
