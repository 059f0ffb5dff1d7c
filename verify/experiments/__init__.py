"""Reproductions of the papers' numerical experiments.

Private: the public API is ``verify``."""
