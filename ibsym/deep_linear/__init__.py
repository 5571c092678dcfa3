"""Deep linear networks and matrix factorization (Arora et al. 2019, Saxe et al. 2014):
symbolic end-to-end and singular-value flows, their solutions and time to learn, the
finite-step correction, and NumPy factorization experiments against the nuclear norm.

Imports :mod:`ibsym.core`, :mod:`ibsym.bea`, :mod:`ibsym.numeric`.
"""
