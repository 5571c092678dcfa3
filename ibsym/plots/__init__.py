"""Figures (matplotlib only; every function returns a ``Figure`` and never
touches global pyplot state).  One module per topic."""
