"""Run the ``derivations/`` scripts and collect one report.

Each script in ``derivations/`` reproduces one published result with the
public API.  It defines ``main(out: Path, *, quick: bool = False) -> dict``,
writes its LaTeX/JSON/PNG files under ``out`` and raises
:class:`~ibsym.core.errors.OracleMismatch` when it disagrees with its oracle.
:func:`reproduce` runs them (all, or those named), shows progress on stderr,
and writes ``report.md`` (and ``report.pdf`` when pdflatex is available).
"""
from __future__ import annotations

import importlib.util
import json
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ibsym.core.errors import InputError, OracleMismatch
from ibsym.core.export import compile_latex, escape_text, pdflatex_available
from ibsym.core.progress import Progress

__all__ = ["reproduce", "find_derivations", "DEFAULT_DIR", "record_check", "check_close",
           "raise_on_failures"]

#: ``derivations/`` next to the package (a source checkout / editable install).
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "derivations"


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


def find_derivations(directory: Path | None = None) -> dict[str, Path]:
    """Scripts by name (file stem), sorted."""
    d = Path(directory) if directory is not None else DEFAULT_DIR
    if not d.is_dir():
        raise InputError(f"no derivations directory at {d}; run from a source checkout or pass "
                         "--derivations DIR")
    return {p.stem: p for p in sorted(d.glob("*.py")) if not p.name.startswith("_")}


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"ibsym_derivation_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    if not hasattr(mod, "main"):
        raise InputError(f"derivation {path.name} has no main(out, quick=False)")
    return mod


def reproduce(names: Sequence[str] = (), out: str | Path = "ibsym-out", *, quick: bool = False,
              directory: Path | None = None, progress: bool = True) -> dict[str, Any]:
    """Run derivations and write their outputs plus ``report.md`` / ``report.pdf``.

    Returns ``{"ok": bool, "results": [...], "report": path}``; each result has
    ``name``, ``status`` ("ok", "mismatch", "error"), ``seconds`` and the
    script's summary.
    """
    available = find_derivations(directory)
    chosen = list(names) or list(available)
    unknown = [n for n in chosen if n not in available]
    if unknown:
        raise InputError(f"unknown derivation(s) {', '.join(unknown)}; available: "
                         f"{', '.join(available)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    with Progress("reproduce", total=len(chosen), enabled=progress) as prog:
        for name in chosen:
            sub = out / name
            sub.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            entry: dict[str, Any] = {"name": name}
            try:
                summary = _load(available[name]).main(sub, quick=quick)
                entry.update(summary or {})
                entry["status"] = "ok"
            except OracleMismatch as exc:
                entry.update({"status": "mismatch", "message": str(exc)})
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # a failing script is reported, the others still run
                entry.update({"status": "error", "message": f"{type(exc).__name__}: {exc}",
                              "traceback": traceback.format_exc(limit=5)})
            entry["name"] = name
            entry["seconds"] = round(time.perf_counter() - t0, 2)
            results.append(entry)
            prog.update(f"{name}: {entry['status']} ({entry['seconds']} s)")
    ok = all(r["status"] == "ok" for r in results)
    report = _write_report(out, results, ok)
    (out / "summary.json").write_text(json.dumps({"ok": ok, "results": results}, indent=2,
                                                 default=str) + "\n", encoding="utf-8")
    return {"ok": ok, "results": results, "report": str(report)}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _write_report(out: Path, results: list[dict[str, Any]], ok: bool) -> Path:
    lines = ["# ibsym reproduce report", "",
             f"Overall: **{'all derivations agree with their oracles' if ok else 'FAILURES'}**", ""]
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
    md = out / "report.md"
    md.write_text("\n".join(lines), encoding="utf-8")
    if pdflatex_available():
        try:
            compile_latex(_report_tex(out, results, ok), outdir=out)
            (out / "document.pdf").replace(out / "report.pdf")
        except Exception as exc:  # the Markdown report stands; say why the PDF is missing
            (out / "report-pdf-error.txt").write_text(str(exc), encoding="utf-8")
    return md


def _report_tex(out: Path, results: list[dict[str, Any]], ok: bool) -> str:
    parts = [r"\documentclass[10pt]{article}", r"\usepackage[utf8]{inputenc}",
             r"\usepackage{graphicx}",
             r"\usepackage[margin=2cm]{geometry}", r"\begin{document}",
             r"\section*{ibsym reproduce report}",
             escape_text("Overall: " + ("all derivations agree with their oracles" if ok
                                        else "FAILURES")) + r"\par"]
    for r in results:
        parts.append(r"\subsection*{" + escape_text(str(r.get("title", r["name"]))) + "}")
        parts.append(escape_text(f"{r['name']}: status {r['status']} in {r['seconds']} s. "
                                 + str(r.get("reference", ""))) + r"\par")
        if r.get("summary"):
            parts.append(escape_text(str(r["summary"])) + r"\par")
        if r.get("message"):
            parts.append(escape_text(str(r["message"])[:1500]) + r"\par")
        for c in r.get("checks") or []:
            parts.append(escape_text(f"{c.get('name')}: value {_fmt(c.get('value'))}, oracle "
                                     f"{_fmt(c.get('oracle'))}, tolerance {_fmt(c.get('tolerance'))}"
                                     f" -- {'ok' if c.get('ok') else 'FAILED'}") + r"\par")
        for f in r.get("files", []):
            if str(f).endswith(".png"):
                path = (out / r["name"] / f).resolve()
                parts.append(r"\begin{center}\includegraphics[width=0.6\textwidth]{"
                             + str(path) + r"}\end{center}")
    parts.append(r"\end{document}")
    return "\n".join(parts) + "\n"
