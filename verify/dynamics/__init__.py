"""Dynamics: gradient flow (float64 ensembles, high precision), gradient descent, trajectories,
outcomes, flows followed until decided.

Private: the public API is ``verify``."""
