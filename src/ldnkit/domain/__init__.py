"""Pure clinical logic: imports only the standard library, pydantic and ldnkit.knowledge.

The one exception is `outcomes`, whose statistics come from scipy (and numpy under it) rather
than being written by hand.
"""
