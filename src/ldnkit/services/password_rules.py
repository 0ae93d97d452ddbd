"""How long a password may be: the numbers the one account validation (`services.accounts`)
enforces, in a module of their own so that help texts can state them without importing the
store."""

from __future__ import annotations

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024
