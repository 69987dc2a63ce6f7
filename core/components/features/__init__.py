"""Built-in features component versions: one module per version."""
