"""ldnkit.population."""
