"""Pieces of the bad-minima experiment: adversarial copies, weight decay, augmentation."""
import json

import numpy as np
import pytest

from ibsym.core.errors import InputError
from ibsym.dynamics.bad_minima import RegularizedGradient, adversarial_copies
from ibsym.dynamics.networks import MLP


def test_adversarial_copies_zero_the_asked_fraction():
    X = np.ones((500, 64))
    Xa, Ya = adversarial_copies(X, replicas=3, noise=0.25, classes=10, seed=1, fill=-2.0)
    assert Xa.shape == (1500, 64) and Ya.shape == (1500, 10)
    assert np.mean(Xa == -2.0) == pytest.approx(0.25, abs=0.01)
    assert set(np.unique(Xa)) == {-2.0, 1.0}
    counts = np.bincount(Ya.argmax(axis=1), minlength=10)
    assert counts.min() > 100                          # labels spread over all classes
    with pytest.raises(InputError):
        adversarial_copies(X, replicas=0, noise=0.1, classes=10)


def test_weight_decay_adds_l2_theta():
    net = MLP((64, 3, 2), objective="cross-entropy")
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(10, 64)), np.eye(2)[rng.integers(0, 2, 10)]
    th = net.init(seed=1)
    g = RegularizedGradient(net, X, Y, batch_size=10, l2=0.1)
    assert np.allclose(g(th), net.grad(th, X, Y) + 0.1 * th, rtol=1e-13)
    assert g.last_loss == pytest.approx(net.loss(th, X, Y) + 0.05 * th @ th, rel=1e-13)


def test_augmentation_shifts_by_at_most_one_pixel_with_blank_border():
    net = MLP((64, 3, 2))
    mu = np.full(64, 0.25)
    img = np.zeros((8, 8))
    img[3, 4] = 1.0                                   # one lit pixel
    X = np.tile(img.ravel() - mu, (200, 1))
    g = RegularizedGradient(net, X, np.zeros((200, 2)), batch_size=200, augment=True,
                            sigma=0.0, offset=mu)
    out = g._augment(X) + mu
    lit = [tuple(np.argwhere(o.reshape(8, 8) == 1.0)[0]) for o in out]
    assert {(r, c) for r, c in lit} == {(r, c) for r in (2, 3, 4) for c in (3, 4, 5)}
    assert np.allclose(out.sum(axis=1), 1.0)          # blank pixels (0) enter at the border
    with pytest.raises(InputError, match="8x8"):
        RegularizedGradient(MLP((10, 2)), np.zeros((5, 10)), np.zeros((5, 2)), batch_size=5,
                            augment=True)


# -- the result record and its acceptance figures -------------------------------------------
from ibsym.core.budget import Budget  # noqa: E402
from ibsym.core.errors import BudgetExceeded  # noqa: E402
from ibsym.dynamics.bad_minima import (  # noqa: E402
    COMBINATIONS, AdversarialStart, BadMinima, BadMinimaRun, bad_minima_experiment)


def make_result(vanilla=(0.91, 0.87, 0.785), gaps=(-0.7, -1.0, 1.5, 0.2), base=0.937,
                train=1.0, loss=(0.33, 0.49, 1.08), fro=(967.0, 2156.0, 6963.0)):
    """A record shaped like the quick size (R = 1, 4, 16)."""
    runs = [BadMinimaRun("random", 0, (), train, base, 8.0, 620.0, 186.0, 400, 0.01, 0.2)]
    for R, acc, lo, fr in zip((1, 4, 16), vanilla, loss, fro):
        runs.append(BadMinimaRun(f"adversarial R={R}", R, (), 1.0, acc, 5.0, fr, fr / 2, 400,
                                 0.01, lo))
    pairs = [c for c in COMBINATIONS if len(c) >= 2]
    for c, gap in zip(pairs, gaps):
        runs.append(BadMinimaRun("adversarial R=16", 16, c, 1.0, base - gap / 100, 80.0, 100.0,
                                 50.0, 400, 0.02, 0.25))
    starts = tuple(AdversarialStart(R, 200 * R, 0.99, 0.1, f, 150) for R, f in zip((1, 4, 16), fro))
    return BadMinima(tuple(runs), {"size": "quick"}, starts)


def test_acceptance_figures_of_a_record_that_meets_them():
    res = make_result()
    f = res.figures()
    assert f["drop_points"] == pytest.approx(15.2)
    assert set(f["regularized_gap_points"]) == {"momentum+l2", "momentum+augmentation",
                                                "l2+augmentation", "momentum+l2+augmentation"}
    assert f["regularized_gap_points"]["l2+augmentation"] == pytest.approx(1.5)
    assert f["monotone_in_R"] and f["loss_grows_with_R"] and f["complexity_grows_with_R"]
    assert res.passed and res.failures == []
    text = str(res)
    assert text.splitlines()[0].split()[:4] == ["start", "R", "training", "train"]
    assert "loses 15.2 points" in text and "acceptance: met" in text
    d = json.loads(res.to_json())
    assert d["schema"] == "ibsym/bad-minima" and d["passed"] is True and len(d["runs"]) == 8
    assert d["starts"][2]["copies"] == 3200
    assert res.latex().startswith(r"\begin{array}{lrlrrrr}") and res.latex().count(r"\\") == 9
    assert "momentum+l2+augmentation" in res._repr_latex_()


@pytest.mark.parametrize("change, needle", [
    ({"vanilla": (0.91, 0.87, 0.85)}, "loses 8.7 < 10 points"),
    ({"gaps": (-0.7, 3.5, 1.5, 0.2)}, "not within 3 points of the random start: "
                                       "momentum+augmentation 3.5"),
    ({"vanilla": (0.87, 0.91, 0.785)}, "test accuracy does not decrease strictly with R"),
    ({"loss": (0.33, 0.30, 1.08)}, "test loss does not grow strictly with R"),
    ({"fro": (967.0, 900.0, 6963.0)}, "complexity Σ‖W‖² does not grow strictly with R"),
    ({"train": 0.985}, "train accuracy below 99%: random vanilla 0.985"),
])
def test_each_missed_acceptance_figure_is_named(change, needle):
    res = make_result(**change)
    assert not res.passed
    assert any(needle in f for f in res.failures), res.failures
    assert "acceptance: NOT met" in str(res) and json.loads(res.to_json())["passed"] is False


def test_missing_runs_are_failures_not_silence():
    res = make_result()
    few = BadMinima(tuple(r for r in res.runs if not r.regularizers), res.settings, res.starts)
    assert "the runs with two and three regularizers are missing" in few.failures


def test_small_experiment_runs_every_combination_and_checks_its_budget():
    res = bad_minima_experiment(size="default", replicas=(1, 3), n_train=40, width=32,
                                epochs=3, adversarial_epochs=3, batch_size=20,
                                adversarial_batch=20)
    assert len(res.runs) == 8 * 3 and len(res.starts) == 2
    assert [r.regularizers for r in res.runs[:8]] == list(COMBINATIONS)
    assert [s.copies for s in res.starts] == [40, 120]
    assert all(r.distance > 0 and r.epochs == 3 for r in res.runs)
    assert res.settings["test_size"] == 1797 - 40
    quick = bad_minima_experiment(size="quick", replicas=(1, 2, 3), n_train=40, width=16,
                                  epochs=2, adversarial_epochs=2, adversarial_batch=20)
    assert [(r.replicas, r.label) for r in quick.runs] == [
        (0, "vanilla"), (1, "vanilla"), (2, "vanilla"), (3, "vanilla"), (3, "momentum+l2"),
        (3, "momentum+augmentation"), (3, "l2+augmentation"), (3, "momentum+l2+augmentation")]
    with pytest.raises(BudgetExceeded, match="bad-minima: random, vanilla, epoch 1"):
        bad_minima_experiment(size="quick", n_train=40, width=8, epochs=2,
                              budget=Budget(1e-9))
    for bad in ({"size": "huge"}, {"replicas": (0, 2, 4)}, {"noise": 1.0}, {"epochs": 0},
                {"combos": "some"}):
        with pytest.raises(InputError):
            bad_minima_experiment(n_train=40, width=8, **bad)


@pytest.mark.slow
def test_default_size_meets_the_acceptance():
    """Every combination from R = 1, 4, 16 (~75 s CPU on one core)."""
    res = bad_minima_experiment(size="default")
    assert res.failures == []
    f = res.figures()
    assert f["drop_points"] >= 10 and max(f["regularized_gap_points"].values()) <= 3
    assert len(res.runs) == 32 and min(r.train_accuracy for r in res.runs) >= 0.99
    van = [res.run(f"adversarial R={R}") for R in (1, 4, 16)]
    vanilla_16, reg_16 = van[-1], res.run("adversarial R=16", ("momentum", "l2"))
    assert vanilla_16.distance < 0.25 * reg_16.distance      # vanilla stays near the bad start
