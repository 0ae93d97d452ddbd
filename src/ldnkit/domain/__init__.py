"""Pure clinical logic: imports only the standard library, pydantic and ldnkit.knowledge."""
