"""Demo data for trying ldnkit: deterministic, realistic and clearly not real patients."""
