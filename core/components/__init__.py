"""Versioned components: one module (or TOML file) per version.

The built-in versions for the embedded example live in the sub-packages here; a workspace
adds its own in `components/<kind>/<version>.py` (or `.toml` for hyperparameters), the
same shape, without touching the package.
"""
