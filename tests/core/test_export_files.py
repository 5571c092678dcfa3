"""Exports are written atomically and pdflatex leaves nothing behind (issue 17 item 6, issue 9)."""
import json
import os
import tempfile

import pytest

import ibsym as ib
from ibsym.core import export
from ibsym.core.errors import InputError

DOC = "\\documentclass{article}\\begin{document}Hello $x^2$\\end{document}\n"


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """tempfile's default folder redirected, so leftovers of a build can be counted."""
    d = tmp_path / "systemp"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


def test_compile_latex_text_leaves_no_temporary_folder(tmp_path, private_tmp):
    out = tmp_path / "out"
    pdf = export.compile_latex(DOC, outdir=out, name="report")
    assert pdf == (out / "report.pdf").resolve() and pdf.read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in out.iterdir()) == ["report.pdf"]     # no .aux/.log/.tmp
    assert list(private_tmp.iterdir()) == []                           # no ibsym-tex-* folder


def test_compile_latex_with_relative_paths(tmp_path, private_tmp, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "part.tex").write_text("Included part.\n")
    (tmp_path / "src" / "main.tex").write_text(
        "\\documentclass{article}\\begin{document}\\input{part}\\end{document}\n")
    pdf = export.compile_latex(os.path.join("src", "main.tex"), outdir="rel-out")
    assert pdf == (tmp_path / "rel-out" / "main.pdf") and pdf.stat().st_size > 500
    assert sorted(p.name for p in (tmp_path / "src").iterdir()) == ["main.tex", "part.tex"]
    assert list(private_tmp.iterdir()) == []


def test_failed_build_leaves_nothing(tmp_path, private_tmp):
    with pytest.raises(InputError, match="pdflatex failed"):
        export.compile_latex("\\documentclass{article}\\begin{document}\\undefinedmacro"
                             "\\end{document}\n", outdir=tmp_path / "o")
    assert list((tmp_path / "o").iterdir()) == [] and list(private_tmp.iterdir()) == []


def test_source_text_needs_an_output_folder():
    with pytest.raises(InputError, match="outdir"):
        export.compile_latex(DOC)


def test_write_is_atomic_and_keeps_the_old_file_on_failure(tmp_path):
    eq = ib.modified_equation("gd", ib.losses.bilinear(), order=1)
    paths = export.write(eq, tmp_path / "gd", formats=("tex", "json", "py"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gd.json", "gd.py", "gd.tex"]
    before = (tmp_path / "gd.json").read_text()
    assert json.loads(before)["order"] == 1 and all(p.stat().st_size > 0 for p in paths)

    class Broken:
        def to_dict(self):
            raise RuntimeError("serialisation fails half-way")
    with pytest.raises(RuntimeError):
        export.write_json(Broken(), tmp_path / "gd.json")
    assert (tmp_path / "gd.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gd.json", "gd.py", "gd.tex"]


def test_every_output_goes_through_core_files():
    """No direct ``savefig``/``write_text``/``write_bytes``/``open(..., "w")`` in the package or
    the derivation scripts: files are written by ibsym.core.files (temporary name + rename)."""
    import ast
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    allowed = {("ibsym/core/files.py", None),                 # the atomic writers themselves
               ("ibsym/plots/__init__.py", "savefig"),         # save_figure -> atomic_save
               ("ibsym/core/export.py", "write_text"),         # source text in pdflatex's private folder
               ("ibsym/reproduce.py", "open")}                 # the empty lock file OUT/.ibsym.lock
    found = []
    for path in sorted([*root.glob("ibsym/**/*.py"), *root.glob("derivations/*.py")]):
        rel = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if name in ("savefig", "write_text", "write_bytes"):
                pass
            elif name == "open" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) \
                    and any(c in str(node.args[1].value) for c in "wax"):
                pass
            else:
                continue
            if (rel, None) in allowed or (rel, name) in allowed:
                continue
            found.append(f"{rel}:{node.lineno} {name}")
    assert found == [], found
