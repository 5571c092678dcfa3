"""Wide one-hidden-layer ReLU networks (Jin & Montúfar 2023): initialization densities, the
curvature weight ζ, the variational spline problem, and trained wide networks.

Imports :mod:`ibsym.core`, :mod:`ibsym.bea`, :mod:`ibsym.numeric`.
"""
