"""Built-in labels component versions: one module per version."""
