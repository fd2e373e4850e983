"""keras.models: Sequential and load_model."""
from .sequential import Sequential, load_model

__all__ = ["Sequential", "load_model"]
