"""Stability of minima under GD and SGD, non-singularity of GD maps.

Private: the public API is ``verify``."""
