"""Per-second scores in, scenes out."""
