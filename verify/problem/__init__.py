"""Problems: networks, activations, data and targets, exact numbers, the safe expression reader,
limits.

Private: the public API is ``verify``."""
