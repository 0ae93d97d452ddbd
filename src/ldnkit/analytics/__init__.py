"""ldnkit.analytics."""
