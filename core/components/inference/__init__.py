"""Built-in inference component versions: one module per version."""
