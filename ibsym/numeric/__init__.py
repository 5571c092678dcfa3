"""Numeric layer: NumPy kernels compiled from derived fields, optimizer runs, jets of the
initial transient, and the verifier (fitted error orders).

Imports :mod:`ibsym.core` and :mod:`ibsym.bea`.
"""
