"""Built-in metrics component versions: one module per version."""
