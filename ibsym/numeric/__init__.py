"""Numeric layer: NumPy kernels compiled from derived fields, optimizer runs, jets of the
initial transient, and the verifier (fitted error orders).

Imports :mod:`ibsym.core` and :mod:`ibsym.bea`.
"""

from ibsym.numeric import implicit as _implicit  # noqa: E402,F401  (installs the Newton solve of implicit steps)
