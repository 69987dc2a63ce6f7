"""Built-in arch component versions: one module per version."""
