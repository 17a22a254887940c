"""Training a scene head (and optionally its backbones) on annotated films."""
