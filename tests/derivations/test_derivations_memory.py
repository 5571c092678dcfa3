"""The derivation scripts for optimizers with memory (heavy ball, Adam/RMSProp, SGD) run in
quick mode, agree with their oracles (formulas.md §1, §3, §4), export, and catch a wrong
oracle."""
import ast
import importlib.util
import json
from pathlib import Path

import pytest

import ibsym as ib
from ibsym.core.errors import OracleMismatch
from ibsym.core.export import compile_latex

DERIV = Path(__file__).resolve().parents[2] / "derivations"
NAMES = ("ghosh_2023_heavy_ball", "cattaneo_2024_adam", "smith_2021_sgd")
ALLOWED = {"ibsym", "pathlib", "sys", "fractions", "json", "math", "time", "__future__"}


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_mem_{name}", DERIV / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each script once, in quick mode (they take 10-20 s each)."""
    out = {}
    for name in NAMES:
        d = tmp_path_factory.mktemp(name)
        mod = _load(name)
        out[name] = (mod, mod.main(d, quick=True), d)
    return out


def _check(res, fragment):
    found = [c for c in res["checks"] if fragment in c["name"]]
    assert found, f"no check named like {fragment!r}"
    return found


@pytest.mark.parametrize("name", NAMES)
def test_script_imports_only_ibsym_and_the_standard_library(name):
    tree = ast.parse((DERIV / f"{name}.py").read_text())
    assert ast.get_docstring(tree)
    for node in ast.walk(tree):
        mods = []
        if isinstance(node, ast.Import):
            mods = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mods = [(node.module or "").split(".")[0]]
        assert set(mods) <= ALLOWED, f"{name} imports {mods}"


@pytest.mark.parametrize("name", NAMES)
def test_quick_run_agrees_and_writes_its_files(runs, name):
    mod, res, out = runs[name]
    assert res["name"] == name and res["summary"] and res["reference"] and res["quick"]
    assert len(res["checks"]) >= 25
    bad = [c for c in res["checks"] if not c["ok"]]
    assert not bad, bad
    for f in res["files"]:
        assert (out / f).stat().st_size > 100, f
    assert sum(f.endswith(".png") for f in res["files"]) >= 3
    assert any(f.endswith(".tex") for f in res["files"])
    data = json.loads((out / "summary.json").read_text())
    assert data["name"] == name and all(c["ok"] for c in data["checks"])


def test_heavy_ball_results(runs):
    _, res, out = runs["ghosh_2023_heavy_ball"]
    slopes = [c["value"] for c in res["checks"]
              if c["name"].startswith("heavy ball β=0.5 from (0.3,1.7): slope")]
    assert [round(s) for s in slopes] == [1, 2, 3]
    assert _check(res, "without the initial shift")[0]["value"] < 1.3
    assert _check(res, "Thm 4.1: modified loss")[0]["ok"]
    ml = json.loads((out / "modified_loss.json").read_text())
    assert ml["valid_order"] == 1
    assert compile_latex(out / "heavy_ball_generic.tex").exists()


def test_adam_results(runs):
    _, res, out = runs["cattaneo_2024_adam"]
    assert "β > ρ" in _check(res, "Table 1, small ε")[0]["value"]
    signs = _check(res, "one-norm along the iterates is")
    assert len(signs) >= 4 and {c["oracle"] for c in signs} == {"sign +", "sign −"}
    slopes = [c["value"] for c in res["checks"] if c["name"].startswith("adam {")
              and "slope" in c["name"]]
    assert [round(s) for s in slopes] == [1, 2, 3]
    data = json.loads((out / "figures_data.json").read_text())
    assert data["illustration"] and data["regularization_strength"]


def test_sgd_results(runs):
    _, res, out = runs["smith_2021_sgd"]
    mc = _check(res, "Monte-Carlo h=")
    assert len(mc) >= 4 and all(c["ok"] for c in mc)
    assert _check(res, "equal batches = full-batch Adam")[0]["value"] is True
    data = json.loads((out / "monte_carlo.json").read_text())
    assert data["seed"] == runs["smith_2021_sgd"][0].SEED and data["rows"]


# ---- a wrong oracle must be caught ----------------------------------------------------------
def test_wrong_heavy_ball_instance_is_caught(monkeypatch):
    mod = _load("ghosh_2023_heavy_ball")
    checks = []
    mod.check_worked_instance(checks)
    assert checks and all(c["ok"] for c in checks)
    mod.raise_on_failures(checks)                      # nothing to report
    monkeypatch.setitem(mod.INSTANCE, "hF_1", [8.6, 2.078125])      # 8.609375 is right
    checks = []
    mod.check_worked_instance(checks)
    assert [c["name"] for c in checks if not c["ok"]] == \
        ["instance β=0.9, h=0.01 at (0.5,1.5): h·F_1"]
    with pytest.raises(OracleMismatch, match="h·F_1"):
        mod.raise_on_failures(checks)


def test_wrong_adam_instance_is_caught(monkeypatch):
    mod = _load("cattaneo_2024_adam")
    wrong = dict(mod.INSTANCES["bilinear"], F_1=[-4.385245, 1.2437])   # 1.243628 is right
    monkeypatch.setitem(mod.INSTANCES, "bilinear", wrong)
    checks = []
    mod.check_instances(checks)
    failed = [c["name"] for c in checks if not c["ok"]]
    assert len(failed) == 1 and "F_1" in failed[0] and "Adam" in failed[0]
    with pytest.raises(OracleMismatch, match="F_1"):
        mod.raise_on_failures(checks)


def test_wrong_sgd_instance_is_caught(monkeypatch):
    mod = _load("smith_2021_sgd")
    eq = ib.modified_equation("sgd", mod.smith_loss(), order=1)
    checks = []
    mod.check_instance(checks, eq)
    assert len(checks) == 2 and all(c["ok"] for c in checks)
    # the GD value (1/2)∇²C∇C instead of Smith et al.'s (1/2m)Σ_k H_k g_k must not pass
    monkeypatch.setitem(mod.INSTANCE, "half_mean_Hg", [0.373861, -0.442392])
    checks = []
    mod.check_instance(checks, eq)
    assert [c["ok"] for c in checks] == [True, False]
    with pytest.raises(OracleMismatch, match="Σ_k H_k g_k"):
        mod.raise_on_failures(checks)


def test_splitmix_shuffles_are_seeded_and_uniform():
    mod = _load("smith_2021_sgd")
    a, b = mod.SplitMix64(7), mod.SplitMix64(7)
    seq = [tuple(a.permutation(3)) for _ in range(6000)]
    assert seq[:50] == [tuple(b.permutation(3)) for _ in range(50)]
    counts = {p: seq.count(p) for p in set(seq)}
    assert len(counts) == 6 and all(abs(c - 1000) < 150 for c in counts.values())
