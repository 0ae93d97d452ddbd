"""CLI commands: screen (filled in by its area)."""
