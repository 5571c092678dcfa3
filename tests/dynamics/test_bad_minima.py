"""Pieces of the bad-minima experiment: adversarial copies, weight decay, augmentation."""
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
