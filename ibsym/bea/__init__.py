"""Backward error analysis: the one procedure that derives an optimizer's modified flow.

The differential ring and rooted trees (the two algebras), h-series tracing, optimizer
descriptions and rule files, the result record ``ModifiedEquation`` and the analyses built on
it (initial value, gradient structure / modified loss, component-wise form).  Symbolic only:
imports :mod:`ibsym.core`, never NumPy or the numeric layer.
"""
