"""Overview: `status` and `history`, read models over every layer below."""
