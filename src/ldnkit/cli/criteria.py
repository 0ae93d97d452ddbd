"""CLI commands: criteria (filled in by its area)."""
