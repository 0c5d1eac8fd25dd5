"""MLflow model-registry logic (`resolution`): references pinned once, releases recorded."""
