"""Weighting methods, one module each; every module here is registered on import."""
