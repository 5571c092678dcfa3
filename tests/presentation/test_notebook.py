"""Jupyter (issue 14, item 5): a small notebook executed with nbconvert shows a result's F_j
and a verification report's slopes table as ``text/latex``.

The kernel is the venv's Python: a kernelspec written into ``tmp_path`` points at
``sys.executable`` and ``JUPYTER_PATH`` selects it (no user/system kernel is used).
"""
import importlib
import json
import pkgutil
import sys

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")
ExecutePreprocessor = pytest.importorskip("nbconvert.preprocessors").ExecutePreprocessor

CELLS = [
    "import sys, ibsym as ib\nprint(sys.executable)",
    "loss = ib.Loss.parse('(a*b - 1)**2/2', params='a b')\n"
    "eq = ib.modified_equation('gd', loss, order=2)",
    "eq",
    "report = ib.verify(eq, {'a': 0.3, 'b': 1.7}, T=1.0, steps=[0.04, 0.02, 0.01])",
    "report",
]


def _kernel(tmp_path, monkeypatch) -> str:
    name = "ibsym-test-venv"
    spec = tmp_path / "jupyter" / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "ibsym venv", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")      # no migration warning
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return name


def test_a_notebook_shows_the_F_j_and_the_slopes_table(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    ep = ExecutePreprocessor(timeout=120, kernel_name=_kernel(tmp_path, monkeypatch))
    ep.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    outs = [o for cell in nb.cells for o in cell.get("outputs", [])]
    assert not [o for o in outs if o["output_type"] == "error"], outs
    assert nb.cells[0].outputs[0]["text"].strip() == sys.executable    # the venv's kernel
    latex = [o["data"]["text/latex"] for o in outs
             if o["output_type"] == "execute_result" and "text/latex" in o.get("data", {})]
    assert len(latex) == 2, outs
    eq_tex, report_tex = latex
    # the F_j, not only "F_0 + hF_1 + ...": F_1 of GD on the bilinear loss, first coordinate
    assert r"\dot\theta = F_{0} + hF_{1} + h^{2}F_{2} + O(h^{3})" in eq_tex
    assert r"F_{0} = \left[\begin{matrix}- b \left(a b - 1\right)\\" in eq_tex
    assert (r"F_{1} = \left[\begin{matrix}- \frac{\left(a b - 1\right) \left(2 a^{2} b - a "
            r"+ b^{3}\right)}{2}") in eq_tex
    assert r"F_{2} = " in eq_tex
    # the report: orders x step sizes, fitted slopes 1, 2, 3 and the expected k+1
    assert report_tex.startswith(r"$\displaystyle \begin{array}{c|ccc|cc}")
    assert r"h=0.04 & h=0.02 & h=0.01 & \text{slope} & \text{expected}" in report_tex
    rows = report_tex.split(r"\hline ")[1].split(r"\\ ")
    assert [r.split(" & ")[0] for r in rows] == ["0", "1", "2"]
    slopes = [float(r.split(" & ")[4]) for r in rows]
    assert [abs(s - k) < 0.05 for s, k in zip(slopes, (1, 2, 3))] == [True] * 3, slopes
    assert report_tex.count(r"\text{ok}") == 3


def test_every_public_result_renders_in_jupyter():
    """Every Result subclass has a to_latex, so the default _repr_latex_ shows it."""
    import ibsym
    from ibsym.core.results import Result
    for m in pkgutil.walk_packages(ibsym.__path__, "ibsym."):
        if ".cli" not in m.name and not m.name.endswith("__main__"):
            importlib.import_module(m.name)

    def subclasses(c):
        for s in c.__subclasses__():
            yield s
            yield from subclasses(s)
    found = {c for c in subclasses(Result) if c.__module__.startswith("ibsym.")}
    assert len(found) >= 30
    missing = sorted(c.__qualname__ for c in found if c.to_latex is Result.to_latex
                     and c._repr_latex_ is Result._repr_latex_)
    assert missing == []
