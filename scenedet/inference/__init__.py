"""From a film to per-second scores: streaming, models, model files, features."""
