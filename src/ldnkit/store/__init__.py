"""ldnkit.store."""
