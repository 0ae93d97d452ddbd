"""Use cases that the web app, the CLI and the demo share (one home for each)."""
