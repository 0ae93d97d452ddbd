"""CLI commands: plan (filled in by its area)."""
