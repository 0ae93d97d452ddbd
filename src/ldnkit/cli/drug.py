"""CLI commands: drug (filled in by its area)."""
