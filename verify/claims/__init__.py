"""Claims: the engine (search, shrink, confirm), tiers, conjectures, parallel execution, the pytest
plugin.

Private: the public API is ``verify``."""
