"""Where the iterates end up: implicit problems of optimizers on under-determined regression.

problems (RegressionProblem), tracing (symbolic vectors), mirror (separable potentials, mirror
descent, Bregman projection), invariants (the affine invariant of an update rule), implicit
(``implicit_bias`` and its record), reparam (potentials induced by w = φ(u)), steepest (ℓ_p
steepest descent).
"""
