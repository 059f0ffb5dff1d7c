"""Critical points: the search, certification in ball arithmetic (Arb), certified loss bounds and
GD cycles.

Private: the public API is ``verify``."""
