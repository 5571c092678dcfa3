"""Training dynamics of small networks (issue 13): a NumPy MLP with exact Hessian-vector
products, sharpness by Lanczos, training under any ibsym optimizer, and the edge-of-stability
experiment with the stability level derived from the update rule.

Modules: :mod:`~ibsym.dynamics.networks` (MLP, backprop, R-operator HVPs),
:mod:`~ibsym.dynamics.sharpness` (λ_max(H), λ_max(P⁻¹H)), :mod:`~ibsym.dynamics.data`
(bundled digits, seeded synthetic), :mod:`~ibsym.dynamics.training` (the optimizer's own
update on a network gradient), :mod:`~ibsym.dynamics.stability` (the level read off the
linearized update), :mod:`~ibsym.dynamics.eos` (the experiment and its result records).
"""
