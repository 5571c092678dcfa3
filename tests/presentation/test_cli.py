import json

import pytest

from ibsym.cli import main

LOSS = ["--loss", "(a*b-1)**2/2", "--params", "a b"]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_has_examples(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "examples:" in out
    for cmd in ("derive", "verify", "reproduce"):
        code, out, _ = run(capsys, cmd, "--help")
        assert code == 0 and "examples:" in out and "ibsym " + cmd in out


def test_derive_generic_text(capsys):
    code, out, _ = run(capsys, "derive", "gd", "--order", "2")
    assert code == 0
    assert "dθ/dt = -∇L + h·(-1/2 ∇²L∇L) + h²·(-1/12 ∇³L(∇L, ∇L) - 1/3 (∇²L)²∇L)" in out
    assert "L̃ = L + h·(1/4 ‖∇L‖²)" in out and "NOT a gradient field" in out


def test_derive_json_at_point(capsys):
    code, out, _ = run(capsys, "derive", "gd", "--order", "2", *LOSS, "--at", "a=0.5,b=1.5",
                       "--h", "0.1", "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert d["terms"][1] == pytest.approx([0.453125, 0.109375])
    assert d["terms"][2] == pytest.approx([0.69140625, 0.1263020833])
    h = 0.1
    assert d["field"] == pytest.approx([sum(h ** j * t[i] for j, t in enumerate(d["terms"]))
                                        for i in range(2)])
    assert d["modified_loss"]["valid_order"] == 1


def test_derive_latex(capsys):
    code, out, _ = run(capsys, "derive", "gd", "--order", "1", *LOSS, "--format", "latex")
    assert code == 0 and out.startswith(r"\dot\theta = F_{0} + hF_{1}") and "F_{1} =" in out


def test_verify_json_slopes(capsys, tmp_path):
    code, out, err = run(capsys, "verify", "gd", *LOSS, "--init", "a=0.3,b=1.7", "--order", "3",
                         "--json", "--plot", str(tmp_path / "o.png"))
    assert code == 0
    d = json.loads(out)
    hs = d["step_sizes"]                 # the automatic ladder (no --steps)
    assert len(hs) == 4 and hs == sorted(hs, reverse=True) and hs[0] <= 0.25
    assert d["notes"][0].startswith("step ladder chosen automatically")
    for r in d["results"]:
        assert abs(r["slope"] - (r["order"] + 1)) <= 0.15 and len(r["errors"]) == 4
    assert (tmp_path / "o.png").stat().st_size > 10_000


@pytest.mark.parametrize("argv, msg", [
    (["derive", "gd", "--loss", "__import__('os').system('true')", "--params", "a"], "__import__"),
    (["derive", "gd", "--loss", "a.__class__", "--params", "a"], ".__class__"),
    (["derive", "gd", "--loss", "(lambda: 1)()", "--params", "a"], "lambda"),
    (["derive", "gd", "--loss", "a*c", "--params", "a b"], "unknown name 'c'"),
    (["derive", "adamq"], "unknown optimizer 'adamq'"),        # (adamw is built in now)
    (["derive", "gd", "--loss", "a^2"], "--params"),
    (["derive", "gd", "--hyper", "beta=0.5"], "no hyper-parameter 'beta'"),
    (["derive", "gd", "--loss", "abs(a)+b^2", "--params", "a b"], "not differentiable"),
    (["verify", "gd", *LOSS, "--init", "a=0.3"], "missing b"),
    (["verify", "gd", *LOSS, "--init", "a=0.3,b=1.7", "--steps", "0.03,0.02"], "does not divide"),
    (["derive", "gd", *LOSS, "--at", "a=1,z=2"], "unknown parameter name 'z'"),
])
def test_bad_input_exits_2_with_a_message(capsys, argv, msg):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert msg in err and out == ""


def test_divergence_exits_1_with_threshold(capsys):
    code, out, err = run(capsys, "verify", "gd", "--loss", "5*x^2+y^2/2", "--params", "x y",
                         "--init", "x=1,y=1", "--order", "1", "--T", "20",
                         "--steps", "0.25,0.1,0.05,0.025")
    assert code == 1
    assert "diverged at h=0.25" in out and "2/λ_max" in out


def test_derivation_budget(capsys):
    code, _, err = run(capsys, "derive", "gd", "--order", "8", "--loss",
                       "log(cosh(a*b-1)) + sin(a)*exp(b)", "--params", "a b", "--budget", "0.5")
    assert code == 2 and "time budget" in err and "raise --budget" in err
