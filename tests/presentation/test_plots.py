import numpy as np

import ibsym as ib
from ibsym.numeric.kernels import paths
from ibsym.plots.orders import error_orders, trajectories


def test_error_plot_draws_errors_and_reference_slopes():
    eq = ib.modified_equation("gd", ib.losses.bilinear(), order=2)
    rep = ib.verify(eq, {"a": 0.3, "b": 1.7}, steps=[0.04, 0.02, 0.01])
    fig = error_orders(rep)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert len(lines) == 6  # errors + reference per order
    assert np.allclose(lines[0].get_ydata(), rep.errors[0])
    ref = lines[5].get_ydata()
    assert np.allclose(np.diff(np.log(ref)) / np.diff(np.log(rep.step_sizes)), 3.0)


def test_trajectory_figure_and_the_modified_flow_tracks_gd_better():
    eq = ib.modified_equation("gd", ib.losses.bilinear(), order=1)
    data = paths(eq, [0.3, 1.7], 0.2, 2.0, orders=(0, 1))
    e0 = np.max(np.linalg.norm(data["flow_0"] - data["iterates"], axis=1))
    e1 = np.max(np.linalg.norm(data["flow_1"] - data["iterates"], axis=1))
    assert e1 < 0.5 * e0
    fig = trajectories(data, manifold=lambda x: 1 / x)
    labels = [l.get_label() for l in fig.axes[0].get_lines()]
    assert labels[:3] == ["gradient flow", "modified flow (order 1)", "GD iterates"]
