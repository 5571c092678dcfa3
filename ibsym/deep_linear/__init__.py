"""Deep linear networks and matrix factorization (Arora et al. 2019, Saxe et al. 2014):
symbolic end-to-end and singular-value flows, their solutions and time to learn, the
finite-step correction, and NumPy factorization experiments against the nuclear norm.

Imports :mod:`ibsym.core`, :mod:`ibsym.bea`, :mod:`ibsym.numeric`.

One concept per module -- symbolic (SymPy and mpmath only): :mod:`~ibsym.deep_linear.symbols`
(``N``, ``SIGMA``, ``S`` …, depth checks), :mod:`~ibsym.deep_linear.flows` (end-to-end
dynamics, singular-value flow), :mod:`~ibsym.deep_linear.solutions` (closed-form and implicit
solutions), :mod:`~ibsym.deep_linear.learning` (time to learn, one mode),
:mod:`~ibsym.deep_linear.finite_step` (the BEA correction of a finite step); numerical (NumPy,
SciPy): :mod:`~ibsym.deep_linear.layers` (initializations, products, gradients),
:mod:`~ibsym.deep_linear.problems` (regression, completion, sensing),
:mod:`~ibsym.deep_linear.training` (GD, :func:`train`), :mod:`~ibsym.deep_linear.blas`
(BLAS threads), :mod:`~ibsym.deep_linear.nuclear_norm` (the baseline),
:mod:`~ibsym.deep_linear.predictions` (the derived flows evaluated numerically),
:mod:`~ibsym.deep_linear.flow_experiments` (trajectories, imbalance),
:mod:`~ibsym.deep_linear.recovery` (low-rank recovery, noisy targets) and
:mod:`~ibsym.deep_linear.checks` (finite-step and end-to-end checks).  The functions and result
records are re-exported here; the symbols stay in :mod:`~ibsym.deep_linear.symbols`.

Examples
--------
>>> import ibsym.deep_linear as dl
>>> print(dl.singular_value_flow(2).whitened(1))
dσ/dt = -2*sigma*(sigma - 1)
"""
from ibsym.deep_linear.symbols import check_depth
from ibsym.deep_linear.flows import (EndToEndDynamics, SingularValueFlow, end_to_end_dynamics,
                                     singular_value_flow)
from ibsym.deep_linear.solutions import FlowSolution, singular_value_at, solve_flow
from ibsym.deep_linear.learning import ModeSolution, TimeToLearn, mode_solution, time_to_learn
from ibsym.deep_linear.finite_step import FiniteStepFlow, finite_step_flow
from ibsym.deep_linear.blas import blas_threads
from ibsym.deep_linear.layers import (balanced_factors, balancedness, effective_rank, end_to_end,
                                      end_to_end_field, end_to_end_velocity, fit_slope,
                                      gaussian_factors, layer_gradients, orthogonal_factors,
                                      random_orthogonal)
from ibsym.deep_linear.problems import (MatrixProblem, completion, random_low_rank, random_mask,
                                        regression, sensing)
from ibsym.deep_linear.training import FactorizationRun, train
from ibsym.deep_linear.nuclear_norm import NuclearNormSolution, min_nuclear_norm
from ibsym.deep_linear.predictions import modified_singular_value_at, predicted_singular_values
from ibsym.deep_linear.flow_experiments import (ImbalanceSweep, TrajectorySweep, imbalance_sweep,
                                                trajectory_sweep)
from ibsym.deep_linear.recovery import (PerturbationExperiment, RecoveryExperiment,
                                        completion_experiment, perturbation_experiment,
                                        recovery_experiment, sensing_experiment)
from ibsym.deep_linear.checks import (EndToEndCheck, FiniteStepCheck, end_to_end_check,
                                      finite_step_check, seeded_completion_instance)

__all__ = [
    # symbolic: flows, solutions, time to learn, finite-step correction
    "check_depth",
    "EndToEndDynamics", "end_to_end_dynamics", "SingularValueFlow", "singular_value_flow",
    "FlowSolution", "solve_flow", "singular_value_at",
    "TimeToLearn", "time_to_learn", "ModeSolution", "mode_solution",
    "FiniteStepFlow", "finite_step_flow",
    # numerical: layers, problems, training, nuclear norm
    "blas_threads", "random_orthogonal", "balanced_factors", "orthogonal_factors",
    "gaussian_factors", "end_to_end", "layer_gradients", "end_to_end_velocity",
    "end_to_end_field", "balancedness", "effective_rank", "fit_slope",
    "MatrixProblem", "regression", "completion", "sensing", "random_low_rank", "random_mask",
    "train", "FactorizationRun", "min_nuclear_norm", "NuclearNormSolution",
    # predictions, experiments and checks
    "predicted_singular_values", "modified_singular_value_at",
    "trajectory_sweep", "TrajectorySweep", "imbalance_sweep", "ImbalanceSweep",
    "recovery_experiment", "RecoveryExperiment", "completion_experiment", "sensing_experiment",
    "perturbation_experiment", "PerturbationExperiment",
    "finite_step_check", "FiniteStepCheck", "end_to_end_check", "EndToEndCheck",
    "seeded_completion_instance",
]
