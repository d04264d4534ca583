"""Generators: models that learn a model-space table and sample new ones."""
