"""Built-in schemas component versions: one module per version."""
