"""JAX export of the modified field and the modified loss (issue 14, exports for training code).

The generated module is run with CPU jax (float64) against ``eq.evaluate`` to 1e-12, and
``jax.grad`` of the exported modified loss against the exported field.
"""
from __future__ import annotations

import numpy as np
import pytest

import ibsym as ib
from ibsym.core import export
from ibsym.core.errors import InputError

jax = pytest.importorskip("jax", reason="jax not installed (pip install -e '.[test]')")
jax.config.update("jax_enable_x64", True)

POINTS = [(0.5, 1.5), (-0.7, 0.4), (-1.2, -0.3)]     # negative and mixed-sign points too


def load(src: str) -> dict:
    ns: dict = {}
    exec(compile(src, "<ibsym-jax>", "exec"), ns)
    return ns


CASES = [
    ("gd", "(a*b - 1)**2/2", 3, {}),
    ("heavy-ball", "(a*b - 1)**2/2 + a**4/4", 2, {"beta": 0.6}),
    ("gd", "sqrt(a**2 + b**2 + 1) + a*b**3/3", 2, {}),
]


@pytest.mark.parametrize("opt, loss, order, hyper", CASES)
def test_generated_jax_matches_evaluate_and_grad_of_the_modified_loss_is_the_field(
        opt, loss, order, hyper):
    eq = ib.modified_equation(opt, ib.Loss.parse(loss, params="a b"), order=order)
    ns = load(export.to_jax_code(eq))
    assert ns["LOSS_ORDER"] >= 1
    kw = {k: v for k, v in hyper.items() if k in ns["HYPER"]}
    grad = jax.grad(lambda th, h: ns["modified_loss"](th, h, **kw))
    ref_eq = (ib.modified_equation(opt, ib.Loss.parse(loss, params="a b"), order=order,
                                   hyper=hyper) if hyper else eq)
    for pt in POINTS:
        theta = jax.numpy.array(pt)
        ref = ref_eq.evaluate(dict(zip(("a", "b"), pt)), h=0.05)
        got = np.asarray(ns["terms"](theta, **kw))
        assert got.dtype == np.float64
        want = np.array(ref["terms"], dtype=float)
        # 1e-12 relative to the size of each F_j (a float hyper-parameter is substituted at
        # run time: the cancellations of F_2 round differently from the exact evaluation)
        scale = np.maximum(1.0, np.abs(want).max(axis=1, keepdims=True))
        assert np.abs(got - want).max() <= 1e-12 * scale.max(), np.abs(got - want) / scale
        np.testing.assert_allclose(np.asarray(ns["field"](theta, 0.05, **kw)), ref["field"],
                                   rtol=1e-12, atol=1e-12 * scale.max())
        lo = ns["LOSS_ORDER"]
        np.testing.assert_allclose(-np.asarray(grad(theta, 0.05)),
                                   np.asarray(ns["field"](theta, 0.05, order=lo, **kw)),
                                   rtol=1e-12, atol=1e-12)
        # the regularizer is the loss minus its order-0 term
        full = float(ns["modified_loss"](theta, 0.05, **kw))
        reg = float(ns["implicit_regularizer"](theta, 0.05, **kw))
        assert full - reg == pytest.approx(float(ns["modified_loss"](theta, 0.0, **kw)), abs=1e-12)


def test_jax_export_works_under_jit_and_vmap():
    eq = ib.modified_equation("gd", ib.losses.bilinear(), order=2)
    ns = load(export.to_jax_code(eq))
    batch = jax.numpy.array(POINTS)
    f = jax.jit(jax.vmap(lambda th: ns["field"](th, 0.1)))
    want = np.array([eq.evaluate(dict(zip(("a", "b"), p)), h=0.1)["field"] for p in POINTS])
    np.testing.assert_allclose(np.asarray(f(batch)), want, rtol=1e-12, atol=1e-12)


def test_numpy_export_with_loss_agrees_with_jax():
    from ibsym.core.codegen import numpy_module_source
    eq = ib.modified_equation("gd", ib.Loss.parse("(a*b - 1)**2/2", params="a b"), order=2)
    npm, jxm = load(numpy_module_source(eq, with_loss=True)), load(export.to_jax_code(eq))
    for pt in POINTS:
        assert npm["modified_loss"](pt, 0.1) == pytest.approx(
            float(jxm["modified_loss"](jax.numpy.array(pt), 0.1)), abs=1e-13)


def test_write_jax_file_and_refusals(tmp_path):
    eq = ib.modified_equation("gd", ib.losses.bilinear(), order=1)
    (p,) = export.write(eq, tmp_path / "gd", formats=("jax",))
    assert p.name == "gd_jax.py" and "import jax.numpy" in p.read_text()
    with pytest.raises(InputError, match="JAX code needs a concrete loss"):
        export.to_jax_code(ib.modified_equation("gd", order=1))
    with pytest.raises(InputError, match="unknown export format 'torch'"):
        export.write(eq, tmp_path / "gd", formats=("torch",))


def test_a_hyper_named_like_the_module_is_renamed():
    rule = ("name = damped\nhyper = jax\n"
            "theta = theta - h*grad(theta)/(1 + jax)\n")
    from ibsym.bea.update_rules import parse_update_rule
    opt = parse_update_rule(rule)
    eq = ib.modified_equation(opt, ib.losses.bilinear(), order=1)
    src = export.to_jax_code(eq)
    assert "def field(theta, h, order=ORDER, *, hyper_0):" in src
    ns = load(src)
    ref = ib.modified_equation(opt, ib.losses.bilinear(), order=1,
                               hyper={"jax": 0.5}).evaluate({"a": 0.5, "b": 1.5}, h=0.1)
    np.testing.assert_allclose(np.asarray(ns["field"](jax.numpy.array([0.5, 1.5]), 0.1,
                                                      hyper_0=0.5)), ref["field"], rtol=1e-12)
