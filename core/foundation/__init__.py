"""Foundation: what every layer stands on (errors, ids, clock, atomic writes, the
workspace and its configuration, events). Imports nothing above it."""
