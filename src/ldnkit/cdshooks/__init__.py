"""ldnkit.cdshooks."""
