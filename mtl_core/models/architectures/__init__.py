"""Sharing architectures, one module each; every module here is registered on import."""
