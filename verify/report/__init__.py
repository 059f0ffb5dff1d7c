"""Reports: run records, rendering, figures, progress.

Private: the public API is ``verify``."""
