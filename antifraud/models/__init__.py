"""Trained models: datasets replayed through the pipeline, training, evaluation, the registry.

Kept light on import (no scikit-learn here): the stream worker imports `registry` and
`scorer` only when a model version is active.
"""
