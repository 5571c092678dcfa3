"""Run the ``derivations/`` scripts and collect one report.

Each script in ``derivations/`` reproduces one published result with the
public API.  It defines ``main(out: Path, *, quick: bool = False) -> dict``,
writes its LaTeX/JSON/PNG files under ``out`` and raises
:class:`~ibsym.core.errors.OracleMismatch` when it disagrees with its oracle.
:func:`reproduce` runs them (all, or those named), shows progress on stderr,
and writes ``report.md`` (and ``report.pdf`` when pdflatex is available).

.. warning:: A derivation script is Python code and runs with your rights.  ``reproduce``
   runs only files that carry the module-level marker ``IBSYM_DERIVATION = True`` (checked by
   reading the file's syntax tree, without importing it) -- but a marked file from a folder
   given with ``--derivations DIR`` runs as it is: use folders you trust.

Outputs are safe to interrupt: every file goes through :mod:`ibsym.core.files` (temporary
name, then rename), a lock on ``OUT/.ibsym.lock`` refuses a second run into the same folder,
the report of a previous run is removed first and the new ``summary.json`` and ``report.md``
are written last, listing only files that exist.  A result exported with a failed
verification turns its derivation's status into ``"unverified"`` (the run fails).
"""
from __future__ import annotations

import ast
import contextlib
import importlib.util
import json
import re
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ibsym.core.budget import Budget
from ibsym.core.errors import BudgetExceeded, InputError, OracleMismatch
from ibsym.core.export import compile_latex, pdflatex_available
from ibsym.core.files import atomic_write_text
from ibsym.core.progress import Progress
from ibsym.plots import vector_sidecars
from ibsym.report import report_html, report_tex

__all__ = ["reproduce", "find_derivations", "is_derivation_script", "DEFAULT_DIR", "MARKER",
           "record_check", "check_close", "raise_on_failures"]

#: The module-level assignment ``IBSYM_DERIVATION = True`` marks a derivation script.
MARKER = "IBSYM_DERIVATION"


def _default_dir() -> Path:
    """``derivations/`` of a source checkout (editable install), else the copy shipped in the
    wheel as ``ibsym/_derivations``."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "derivations"
    if checkout.is_dir() and (here.parent / "pyproject.toml").is_file():
        return checkout
    return here / "_derivations"


#: Where :func:`find_derivations` looks by default.
DEFAULT_DIR = _default_dir()


# -- helpers for derivation scripts: one record per comparison with a published oracle -----
def record_check(checks: list, name: str, value: Any, oracle: Any, ok: bool,
                 tolerance: Any = None) -> bool:
    """Append one oracle comparison ``{"name", "value", "oracle", "tolerance", "ok"}``.

    Examples
    --------
    >>> checks = []
    >>> record_check(checks, "F_0 at (0.5, 1.5)", 0.375, 0.375, True)
    True
    >>> checks[0]["ok"]
    True
    """
    checks.append({"name": name, "value": value, "oracle": oracle, "tolerance": tolerance,
                   "ok": bool(ok)})
    return bool(ok)


def check_close(checks: list, name: str, got: Any, oracle: Any, tol: float) -> bool:
    """Record a comparison of numbers or vectors with an absolute tolerance.

    Examples
    --------
    >>> checks = []
    >>> check_close(checks, "g", [-0.3750001, -0.125], [-0.375, -0.125], 1e-6)
    True
    """
    vec = isinstance(got, (list, tuple)) or getattr(got, "ndim", 0) > 0
    g = [float(v) for v in got] if vec else [float(got)]
    o = list(oracle) if isinstance(oracle, (list, tuple)) else [oracle]
    ok = len(g) == len(o) and all(abs(a - float(b)) <= tol for a, b in zip(g, o))
    value = [round(v, 7) for v in g] if vec else round(g[0], 10)
    return record_check(checks, name, value, oracle, ok, tol)


def raise_on_failures(checks: list, name: str | None = None) -> None:
    """Raise :class:`~ibsym.core.errors.OracleMismatch` naming every failed comparison."""
    bad = [c for c in checks if not c["ok"]]
    if bad:
        raise OracleMismatch((f"{name}: " if name else "") + "; ".join(
            f"{c['name']}: got {c['value']}, expected {c['oracle']}" for c in bad))


def is_derivation_script(path: str | Path) -> bool:
    """Whether the file assigns ``IBSYM_DERIVATION = True`` at module level.

    Decided from the syntax tree of the file's text; the file is never imported or run.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.py").write_text("IBSYM_DERIVATION = True\\ndef main(out, *, quick=False): ...\\n")
    >>> _ = (d / "b.py").write_text("import os  # IBSYM_DERIVATION = True in a comment is not it\\n")
    >>> is_derivation_script(d / "a.py"), is_derivation_script(d / "b.py")
    (True, False)
    """
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if (any(isinstance(t, ast.Name) and t.id == MARKER for t in targets)
                and isinstance(value, ast.Constant) and value.value is True):
            return True
    return False


def _scripts(directory: Path | None) -> tuple[Path, list[Path]]:
    d = Path(directory) if directory is not None else DEFAULT_DIR
    if not d.is_dir():
        raise InputError(f"no derivations directory at {d}; run from a source checkout or pass "
                         "--derivations DIR")
    return d, [p for p in sorted(d.glob("*.py")) if not p.name.startswith("_")]


def find_derivations(directory: Path | None = None) -> dict[str, Path]:
    """Derivation scripts by name (file stem), sorted: the ``*.py`` files in ``directory``
    (default :data:`DEFAULT_DIR`) that carry the ``IBSYM_DERIVATION = True`` marker."""
    _, scripts = _scripts(directory)
    return {p.stem: p for p in scripts if is_derivation_script(p)}


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"ibsym_derivation_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    if not hasattr(mod, "main"):
        raise InputError(f"derivation {path.name} has no main(out, quick=False)")
    return mod


_REPORT_FILES = ("report.md", "summary.json", "report.pdf", "report.tex", "report.html",
                 "report-pdf-error.txt")
_SAFE_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold ``out/.ibsym.lock`` (an exclusive, non-blocking ``flock``) for one run."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    with open(out / ".ibsym.lock", "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError(f"another reproduce is writing to {out}; wait for it or choose "
                             "another --out") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _prepare_out(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder {out}: {exc.strerror or exc}") from None
    return out.resolve()


def _unverified(sub: Path) -> list[str]:
    """JSON results under ``sub`` exported with an attached verification that failed (and
    unreadable JSON).  A bare failed verification report (``"passed": false``, e.g. a
    deliberate counter-example) is honest about itself and is not flagged."""
    bad = []
    for p in sorted(sub.rglob("*.json")):
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            bad.append(f"{p.relative_to(sub)} (unreadable)")
            continue
        if not isinstance(d, dict):
            continue
        ver = d.get("verification")
        if "verified" in d and isinstance(ver, dict) and ver.get("passed") is False:
            bad.append(str(p.relative_to(sub)))
    return bad


def _remove_leftovers(out: Path) -> None:
    """Temporary files and PDF build folders of a run that was killed (we hold the lock)."""
    import shutil
    for p in out.glob(".ibsym-tex-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in out.rglob(".*.tmp"):       # ibsym.core.files' temporary names: .NAME.XXXXXX.tmp
        if p.is_file():
            p.unlink(missing_ok=True)


def reproduce(names: Sequence[str] = (), out: str | Path = "ibsym-out", *, quick: bool = False,
              directory: Path | None = None, progress: bool = True,
              budget: Any = None, pdf: bool = False) -> dict[str, Any]:
    """Run derivations and write their outputs plus ``report.md`` / ``report.pdf``.

    ``pdf=True`` asks for ``report.pdf`` explicitly: without pdflatex on the PATH the run is
    refused before anything runs or is written (:class:`~ibsym.core.errors.InputError`), and a
    failed build makes ``ok`` False. Without it a missing pdflatex only skips the PDF.

    ``budget`` (a :class:`~ibsym.core.budget.Budget` or seconds; default unbounded) is
    checked before each derivation; past it :class:`~ibsym.core.errors.BudgetExceeded`
    stops the run (no report is written for a partial run).

    Only scripts marked ``IBSYM_DERIVATION = True`` run (see :func:`find_derivations`); they
    are Python code and run with the caller's rights.

    Returns ``{"ok": bool, "results": [...], "report": path, "pdf": {...}}``; each result has
    ``name``, ``status`` ("ok", "mismatch", "unverified", "error"), ``seconds`` and the
    script's summary; ``pdf`` has ``status`` ("ok", "failed", "skipped") and ``message``.
    ``ok`` is False when a derivation is not "ok" or when pdflatex is installed but the PDF
    report failed to build.

    Raises
    ------
    InputError
        Unknown or unmarked names, an unusable ``out``, or another run holding ``out``'s lock.
    """
    folder, scripts = _scripts(directory)
    available = {p.stem: p for p in scripts if is_derivation_script(p)}
    chosen = list(names) or list(available)
    unmarked = [n for n in chosen if n not in available and (folder / f"{n}.py").is_file()]
    if unmarked:
        raise InputError(f"{', '.join(unmarked)} in {folder} not marked as a derivation script "
                         f"(module-level {MARKER} = True); reproduce runs only marked scripts")
    unknown = [n for n in chosen if n not in available]
    if unknown:
        raise InputError(f"unknown derivation(s) {', '.join(unknown)}; available: "
                         f"{', '.join(available)}")
    if pdf and not pdflatex_available():
        raise InputError("report.pdf was asked for (--pdf) but pdflatex is not on the PATH "
                         "(Debian: texlive-latex-base); install it or drop --pdf")
    out = _prepare_out(Path(out))
    with _locked(out):
        return _run(chosen, available, out, quick=quick, progress=progress,
                    budget=Budget.coerce(budget, advice="run fewer derivations or --quick"),
                    require_pdf=pdf)


def _run(chosen: list[str], available: dict[str, Path], out: Path, *, quick: bool,
         progress: bool, budget: Budget, require_pdf: bool = False) -> dict[str, Any]:
    for f in _REPORT_FILES:  # a report of an earlier run must not describe this one
        (out / f).unlink(missing_ok=True)
    _remove_leftovers(out)
    results: list[dict[str, Any]] = []
    with Progress("reproduce", total=len(chosen), enabled=progress) as prog:
        for name in chosen:
            budget.check(f"before derivation {name}")
            sub = out / name
            sub.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            entry: dict[str, Any] = {"name": name}
            try:
                with vector_sidecars():     # figures: PNG plus a vector PDF beside it
                    summary = _load(available[name]).main(sub, quick=quick)
                entry.update(summary or {})
                entry["status"] = "ok"
            except OracleMismatch as exc:
                entry.update({"status": "mismatch", "message": str(exc)})
            except (KeyboardInterrupt, BudgetExceeded):
                raise
            except Exception as exc:  # a failing script is reported, the others still run
                entry.update({"status": "error", "message": f"{type(exc).__name__}: {exc}",
                              "traceback": traceback.format_exc(limit=5)})
            entry["name"] = name
            unverified = _unverified(sub)
            if unverified and entry["status"] == "ok":
                entry.update({"status": "unverified", "message": "exported with a failed "
                              "verification: " + ", ".join(unverified)})
            entry["files"] = [f for f in entry.get("files") or [] if (sub / str(f)).is_file()]
            entry["seconds"] = round(time.perf_counter() - t0, 2)
            results.append(entry)
            prog.update(f"{name}: {entry['status']} ({entry['seconds']} s)")
    agree = all(r["status"] == "ok" for r in results)
    pdf = _write_pdf(out, results, agree)
    if require_pdf and pdf["status"] == "skipped":   # pdflatex vanished since the check
        pdf = {"status": "failed", "message": pdf["message"]}
    if pdf["status"] == "failed":   # one line: the full message is in summary.json
        line = " ".join(str(pdf["message"]).split())
        line = line if len(line) <= 300 else line[:297] + "..."
        print(f"ibsym reproduce: report.pdf was not built: {line}", file=sys.stderr)
    ok = agree and pdf["status"] != "failed"
    # written last, in this order: report.md present => summary.json and the PDF are final
    atomic_write_text(out / "summary.json", json.dumps(
        {"ok": ok, "results": results, "pdf": pdf}, indent=2, default=str) + "\n")
    html_path = atomic_write_text(out / "report.html", report_html(out, results, agree, pdf))
    report = _write_report(out, results, agree, pdf)
    return {"ok": ok, "results": results, "report": str(report), "html": str(html_path),
            "pdf": pdf}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _write_pdf(out: Path, results: list[dict[str, Any]], ok: bool) -> dict[str, str]:
    if not pdflatex_available():
        return {"status": "skipped", "message": "pdflatex not found (Debian: texlive-latex-base)"}
    try:
        # report.tex in --out and pdflatex run there: the figures are relative paths below it
        # (readable also when pdflatex refuses absolute paths, openin_any=p)
        tex = atomic_write_text(out / "report.tex", _report_tex(out, results, ok))
        compile_latex(tex, outdir=out, name="report", workdir=out)
    except Exception as exc:  # the Markdown report stands; it and summary.json say why
        return {"status": "failed", "message": str(exc)}
    return {"status": "ok", "message": "report.pdf"}


def _write_report(out: Path, results: list[dict[str, Any]], ok: bool,
                  pdf: dict[str, str] | None = None) -> Path:
    lines = ["# ibsym reproduce report", "",
             f"Overall: **{'all derivations agree with their oracles' if ok else 'FAILURES'}**", ""]
    bad = [r for r in results if r["status"] != "ok"]
    if bad:
        lines += ["Not agreeing: " + ", ".join(f"`{r['name']}` ({r['status']})" for r in bad), ""]
    if pdf is not None:
        lines += [("PDF report: [report.pdf](report.pdf)" if pdf["status"] == "ok" else
                   f"PDF report: {pdf['status']} -- {pdf['message']}").replace("\n", " "), ""]
    for r in results:
        lines += [f"## {r.get('title', r['name'])}", "",
                  f"`{r['name']}` — status **{r['status']}** in {r['seconds']} s"
                  + (f" — {r['reference']}" if r.get("reference") else ""), ""]
        if r.get("summary"):
            lines += [r["summary"], ""]
        if r.get("message"):
            lines += ["```", r["message"], "```", ""]
        checks = r.get("checks") or []
        if checks:
            lines += ["| check | value | oracle | tolerance | ok |", "|---|---|---|---|---|"]
            for c in checks:
                cells = [c.get("name"), _fmt(c.get("value")), _fmt(c.get("oracle")),
                         _fmt(c.get("tolerance"))]
                cells = [str(x).replace("|", "\\|").replace("\n", " ") for x in cells]
                lines.append("| " + " | ".join(cells) + f" | {'yes' if c.get('ok') else 'NO'} |")
            lines.append("")
        for f in r.get("files", []):
            rel = f"{r['name']}/{f}"
            lines.append(f"![{f}]({rel})" if str(f).endswith(".png") else f"- [{f}]({rel})")
        lines.append("")
    return atomic_write_text(out / "report.md", "\n".join(lines))


def _report_tex(out: Path, results: list[dict[str, Any]], ok: bool) -> str:
    return report_tex(out, results, ok)     # summary table, sections, check tables, figures
