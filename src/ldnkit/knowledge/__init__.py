"""ldnkit.knowledge."""
