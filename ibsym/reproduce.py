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

Parallel runs: with ``jobs`` > 1 (default: every CPU) the derivations run on a local
:class:`concurrent.futures.ProcessPoolExecutor` (``forkserver`` start, the heavy imports
preloaded once; a worker runs several derivations, each from the same warnings, matplotlib
and random state as in a serial run, see :func:`_isolated`), longest first (the times of
the previous run into the same
``out``, else the script's ``IBSYM_COST`` estimate in seconds; a script without either runs
first).  ``scheduler="tcp://HOST:PORT"`` runs them on an existing Dask cluster instead
(``Client.submit``; the optional extra ``ibsym[dask]``): a worker runs the script's source
in a private temporary folder and sends the files back, so no shared file system is needed.
Whatever the order of completion, the report lists the derivations in the order asked for
(sorted by name by default), and an interrupt (Ctrl-C) or an exceeded budget stops every
worker before the error propagates (no report is written for a partial run).  Serial
(``jobs=1``) and parallel runs produce identical results: both start each derivation with
the same state (:func:`_isolated`).
"""
from __future__ import annotations

import ast
import contextlib
import importlib.util
import json
import math
import os
import random
import re
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
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

#: Optional module-level ``IBSYM_COST = SECONDS``: a derivation's expected run time (full size,
#: one core), used only to start the longest derivations first in a parallel run.
COST = "IBSYM_COST"

#: Message when ``--scheduler`` is used without Dask's distributed scheduler installed.
DASK_MISSING = "--scheduler needs dask.distributed: pip install 'ibsym[dask]'"


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
    return _module_constant(Path(path), MARKER) is True


def _module_constant(path: Path, name: str) -> Any:
    """The constant assigned to ``name`` at module level in ``path`` (None if absent),
    read from the syntax tree without importing the file."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return value.value if isinstance(value, ast.Constant) else None
    return None


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
              budget: Any = None, pdf: bool = False, jobs: int | None = None,
              scheduler: str | None = None) -> dict[str, Any]:
    """Run derivations and write their outputs plus ``report.md`` / ``report.pdf``.

    ``pdf=True`` asks for ``report.pdf`` explicitly: without pdflatex on the PATH the run is
    refused before anything runs or is written (:class:`~ibsym.core.errors.InputError`), and a
    failed build makes ``ok`` False. Without it a missing pdflatex only skips the PDF.

    ``budget`` (a :class:`~ibsym.core.budget.Budget` or seconds; default unbounded) bounds
    every derivation and the whole run: it is checked before each derivation, each
    derivation runs under a real-time alarm at the deadline (in its own worker process too),
    and the parent waits no longer than the deadline.  Past it
    :class:`~ibsym.core.errors.BudgetExceeded` stops every worker and the run (no report is
    written for a partial run).

    ``jobs`` is the number of worker processes of the local pool (default: the CPUs this
    process may use); with one worker, or one derivation, they run in this process, one after
    another.  ``scheduler`` is the address of a running Dask scheduler
    (``"tcp://host:8786"``): the derivations are submitted to that cluster instead (needs
    ``dask.distributed``; excludes ``jobs``).

    Only scripts marked ``IBSYM_DERIVATION = True`` run (see :func:`find_derivations`); they
    are Python code and run with the caller's rights.

    Returns ``{"ok": bool, "results": [...], "report": path, "pdf": {...}}``; each result has
    ``name``, ``status`` ("ok", "mismatch", "unverified", "error"), ``seconds`` (wall),
    ``cpu_seconds`` (of the process that ran it) and the script's summary, in the order of
    ``names`` (default: sorted by name) whatever the order of completion; ``pdf`` has
    ``status`` ("ok", "failed", "skipped") and ``message``.
    ``ok`` is False when a derivation is not "ok" or when pdflatex is installed but the PDF
    report failed to build.

    Raises
    ------
    InputError
        Unknown or unmarked names, an unusable ``out``, another run holding ``out``'s lock,
        ``jobs`` not a positive whole number, ``scheduler`` without dask.distributed or
        unreachable.
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
    chosen = list(dict.fromkeys(chosen))          # a name given twice runs once
    if scheduler is not None and jobs is not None:
        raise InputError("--jobs sets the local process pool; with --scheduler the Dask "
                         "cluster decides: give one of them")
    workers = _check_jobs(jobs)
    if pdf and not pdflatex_available():
        raise InputError("report.pdf was asked for (--pdf) but pdflatex is not on the PATH "
                         "(Debian: texlive-latex-base); install it or drop --pdf")
    budget = Budget.coerce(budget, advice="run fewer derivations or --quick")
    client = _dask_client(scheduler, budget) if scheduler is not None else None
    try:
        out = _prepare_out(Path(out))
        with _locked(out):
            return _run(chosen, available, out, quick=quick, progress=progress,
                        budget=budget, require_pdf=pdf, jobs=workers, client=client)
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()


def _check_jobs(jobs: Any) -> int:
    """The number of local workers: ``jobs`` validated, or the usable CPUs."""
    if jobs is None:
        if hasattr(os, "process_cpu_count"):        # Python >= 3.13
            return max(1, os.process_cpu_count() or 1)
        if hasattr(os, "sched_getaffinity"):
            return max(1, len(os.sched_getaffinity(0)))
        return max(1, os.cpu_count() or 1)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise InputError(f"--jobs must be a positive whole number, got {jobs!r}")
    return jobs


#: A Dask scheduler address: [tcp|tls|ws|wss|ucx://]HOST:PORT, or an in-process inproc://...
_SCHEDULER = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx)://)?(?:[A-Za-z0-9_.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])"
                        r":[0-9]{1,5}|inproc://[A-Za-z0-9_.-]{1,253}(?:/[0-9]{1,10}){1,2}")


def _dask_client(address: str, budget: Budget) -> Any:
    """A :class:`distributed.Client` connected to the scheduler at ``address``."""
    if not isinstance(address, str) or not _SCHEDULER.fullmatch(address.strip()):
        shown = address[:60] if isinstance(address, str) else address
        raise InputError(f"--scheduler needs the address of a Dask scheduler, "
                         f"tcp://HOST:PORT (or HOST:PORT, tls://, ws://...), got {shown!r}")
    try:
        from distributed import Client
    except ImportError:
        raise InputError(DASK_MISSING) from None
    timeout = max(1.0, min(10.0, budget.remaining() / 2))   # the rest: for the run
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")      # a version-mismatch warning is not our output
            return Client(address.strip(), timeout=f"{timeout:g}s", set_as_default=False)
    except Exception as exc:   # OSError, TimeoutError, ValueError of a malformed address ...
        why = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(f"cannot reach the Dask scheduler at {address.strip()[:100]!r}: "
                         f"{why}") from None


def _run(chosen: list[str], available: dict[str, Path], out: Path, *, quick: bool,
         progress: bool, budget: Budget, require_pdf: bool = False, jobs: int = 1,
         client: Any = None) -> dict[str, Any]:
    history = _previous_seconds(out, quick)      # before the old summary.json goes
    for f in _REPORT_FILES:  # a report of an earlier run must not describe this one
        (out / f).unlink(missing_ok=True)
    _remove_leftovers(out)
    t0, c0 = time.perf_counter(), time.process_time()
    by_name: dict[str, dict[str, Any]] = {}
    in_process = 0.0        # CPU of the derivations run in this process (not the parent's own)
    with Progress("reproduce", total=len(chosen), enabled=progress) as prog:
        def done(entry: dict[str, Any]) -> None:
            by_name[entry["name"]] = entry
            prog.update(f"{entry['name']}: {entry['status']} ({entry['seconds']} s)")

        order = sorted(chosen, key=lambda n: (-_expected_seconds(available[n], n, history), n))
        try:
            if client is not None:
                _run_dask(client, order, available, out, quick, budget, done)
            elif min(jobs, len(chosen)) > 1:
                _run_pool(min(jobs, len(chosen)), order, available, out, quick, budget, done)
            else:
                for name in chosen:
                    sub = out / name
                    done(_execute(name, available[name], sub, quick, budget))
                    in_process += by_name[name]["cpu_seconds"]
        except BaseException:
            _remove_leftovers(out)           # what a stopped worker left (we hold the lock)
            raise
    results = [by_name[n] for n in chosen]     # the order asked for, not of completion
    run_info = {"quick": quick, "jobs": jobs if client is None else "dask",
                "wall_seconds": round(time.perf_counter() - t0, 2),
                "parent_cpu_seconds": round(time.process_time() - c0 - in_process, 2),
                "cpu_seconds": round(sum(r.get("cpu_seconds") or 0.0 for r in results), 2)}
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
        {"ok": ok, "results": results, "pdf": pdf, "run": run_info}, indent=2,
        default=str) + "\n")
    html_path = atomic_write_text(out / "report.html", report_html(out, results, agree, pdf))
    report = _write_report(out, results, agree, pdf)
    return {"ok": ok, "results": results, "report": str(report), "html": str(html_path),
            "pdf": pdf, "run": run_info}


# -- one derivation ------------------------------------------------------------------------
@contextlib.contextmanager
def _isolated() -> Iterator[None]:
    """Run a derivation from the state of a fresh process and restore the caller's after.

    The warnings filters, matplotlib's ``rcParams`` and the global random generators
    (``random``, ``numpy.random``) are saved and restored; both
    generators are seeded with 0 first, so a script that (wrongly) draws from them gets the
    same numbers in a serial run and in a pool worker.  (A Dask worker process is shared with
    Dask's own threads, which draw from ``random`` too: there only a script's own seeded
    generators -- what every shipped derivation uses -- are reproducible.)
    """
    import matplotlib
    import numpy as np
    r_state, np_state = random.getstate(), np.random.get_state()
    random.seed(0)
    np.random.seed(0)
    try:
        with warnings.catch_warnings(), matplotlib.rc_context():
            yield
    finally:
        random.setstate(r_state)
        np.random.set_state(np_state)


def _execute(name: str, script: Path, sub: Path, quick: bool, budget: Budget) -> dict[str, Any]:
    """Run the derivation ``script`` into ``sub`` in this process; its entry of the report.

    A failing script becomes an entry with status "mismatch" or "error"; an interrupt and an
    exceeded budget propagate.
    """
    budget.check(f"before derivation {name}")
    sub.mkdir(parents=True, exist_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    entry: dict[str, Any] = {"name": name}
    try:
        with _isolated(), vector_sidecars(), budget.enforce():  # figures: PNG plus vector PDF
            budget.where = f"running derivation {name}"
            summary = _load(script).main(sub, quick=quick)
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
    entry["cpu_seconds"] = round(time.process_time() - c0, 2)
    return entry


def _worker_budget(deadline: float | None, total: float | None, advice: str) -> Budget:
    """The run's budget in a worker: ``deadline`` is wall-clock (``time.time()``), which,
    unlike the monotonic clock, means the same on every process and machine."""
    if deadline is None:
        return Budget(None, advice=advice)
    return Budget(None, advice=advice, _total=total,
                  _deadline=time.monotonic() + (deadline - time.time()))


def _deadline(budget: Budget) -> float | None:
    return time.time() + budget.remaining() if budget.bounded else None


def _pool_task(name: str, script: str, sub: str, quick: bool, deadline: float | None,
               total: float | None, advice: str) -> dict[str, Any]:
    """A local pool worker's job: one derivation, written straight into ``sub``."""
    return _execute(name, Path(script), Path(sub), quick,
                    _worker_budget(deadline, total, advice))


def _remote_task(name: str, source: str, quick: bool, deadline: float | None,
                 total: float | None, advice: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A Dask worker's job: run the script's ``source`` in a private temporary folder and
    return the entry and every file written (relative path -> bytes)."""
    with tempfile.TemporaryDirectory(prefix="ibsym-reproduce-") as tmp:
        script = Path(tmp) / f"{name}.py"
        atomic_write_text(script, source)
        sub = Path(tmp) / "out"
        entry = _execute(name, script, sub, quick, _worker_budget(deadline, total, advice))
        files = {p.relative_to(sub).as_posix(): p.read_bytes() for p in sorted(sub.rglob("*"))
                 if p.is_file() and not any(part.startswith(".")
                                            for part in p.relative_to(sub).parts)}
    return entry, files


def _failed_entry(name: str, exc: BaseException) -> dict[str, Any]:
    """The entry of a derivation whose worker failed outside the script (died, or its
    result could not be sent back)."""
    from concurrent.futures.process import BrokenProcessPool
    why = ("the worker process died (killed, or out of memory?) before the derivation "
           "finished" if isinstance(exc, BrokenProcessPool) else f"{type(exc).__name__}: {exc}")
    return {"name": name, "status": "error", "message": why, "files": [], "seconds": 0.0,
            "cpu_seconds": 0.0}


# -- scheduling ----------------------------------------------------------------------------
def _previous_seconds(out: Path, quick: bool) -> dict[str, float]:
    """Run times of the last run into ``out`` with the same ``quick`` (from its summary)."""
    try:
        data = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        if bool((data.get("run") or {}).get("quick")) != quick:
            return {}
        return {str(r["name"]): float(r["seconds"]) for r in data.get("results", [])
                if isinstance(r, dict) and isinstance(r.get("seconds"), (int, float))}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _expected_seconds(script: Path, name: str, history: dict[str, float]) -> float:
    """How long ``name`` should take: the last run's time, else its ``IBSYM_COST``, else
    infinity (unknown scripts start first)."""
    if name in history:
        return history[name]
    cost = _module_constant(script, COST)
    if isinstance(cost, (int, float)) and not isinstance(cost, bool) and math.isfinite(cost):
        return float(cost)
    return math.inf


#: Modules the pool's fork server imports once, so that no worker pays them.
_PRELOAD = ("ibsym.reproduce", "numpy", "sympy", "matplotlib", "matplotlib.figure",
            "matplotlib.backends.backend_agg", "scipy.integrate", "scipy.optimize",
            "ibsym.bea.procedure", "ibsym.numeric.verify")


def _pool_context() -> Any:
    """A ``forkserver`` context (``spawn`` where there is none) with :data:`_PRELOAD`."""
    import multiprocessing
    try:
        ctx = multiprocessing.get_context("forkserver")
    except ValueError:  # pragma: no cover - no fork server (Windows)
        return multiprocessing.get_context("spawn")
    ctx.set_forkserver_preload(list(_PRELOAD))
    return ctx


def _worker_init() -> None:
    """Set up a pool worker: Ctrl-C is the parent's to handle (it stops the workers: no
    traceback from every idle worker), and on Linux the worker dies with the fork server,
    which exits with the parent -- a killed ``reproduce`` leaves no worker writing on."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes
            PR_SET_PDEATHSIG = 1
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))


def _stop_pool(executor: Any, futures: Any) -> None:
    """Stop a :class:`ProcessPoolExecutor` now: cancel what has not started and kill every
    worker (their files are whole -- every write is atomic -- and the temporaries they leave
    are removed by the caller, who holds the lock)."""
    for fut in futures:
        fut.cancel()
    for _ in range(3):        # the pool's manager may have started a replacement meanwhile
        procs = [p for p in list((getattr(executor, "_processes", None) or {}).values())
                 if p.is_alive()]
        if not procs:
            break
        for p in procs:
            with contextlib.suppress(Exception):
                p.kill()
        for p in procs:
            with contextlib.suppress(Exception):
                p.join(2.0)
    executor.shutdown(wait=True, cancel_futures=True)


def _run_pool(jobs: int, order: list[str], available: dict[str, Path], out: Path, quick: bool,
              budget: Budget, done: Callable[[dict[str, Any]], None]) -> None:
    """Run ``order`` (longest first) on ``jobs`` fresh worker processes."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    budget.check("before the first derivation")
    executor = ProcessPoolExecutor(jobs, mp_context=_pool_context(), initializer=_worker_init)
    pending: dict[Any, str] = {}
    try:
        pending = {executor.submit(_pool_task, name, str(available[name]), str(out / name),
                                   quick, _deadline(budget), budget.total, budget.advice): name
                   for name in order}
        while pending:
            left = budget.remaining()
            finished, _ = wait(pending, timeout=None if math.isinf(left) else max(left, 0) + 1.0,
                               return_when=FIRST_COMPLETED)
            if not finished:
                budget.check("waiting for " + ", ".join(sorted(pending.values())))
                continue
            for fut in sorted(finished, key=lambda f: pending[f]):
                name = pending.pop(fut)
                try:
                    done(fut.result())
                except (KeyboardInterrupt, BudgetExceeded):
                    raise
                except Exception as exc:
                    done(_failed_entry(name, exc))
    except BaseException:
        _stop_pool(executor, list(pending))
        raise
    executor.shutdown(wait=True)


def _run_dask(client: Any, order: list[str], available: dict[str, Path], out: Path,
              quick: bool, budget: Budget, done: Callable[[dict[str, Any]], None]) -> None:
    """Submit ``order`` to a Dask cluster (``Client.submit``, longest first by priority) and
    write the files each worker sends back into ``out/NAME``."""
    import uuid
    from ibsym.core.files import atomic_write_bytes
    budget.check("before the first derivation")
    tag = uuid.uuid4().hex[:8]
    futures = {}
    for rank, name in enumerate(order):
        source = available[name].read_text(encoding="utf-8")
        fut = client.submit(_remote_task, name, source, quick, _deadline(budget), budget.total,
                            budget.advice, key=f"ibsym-reproduce-{name}-{tag}", pure=False,
                            priority=len(order) - rank, retries=0)
        futures[fut] = name
    pending = dict(futures)
    try:
        while pending:
            finished = [f for f in pending if f.done()]   # polled: the wait is interruptible
            if not finished:
                if budget.remaining() < -1.0:
                    budget.check("waiting for " + ", ".join(sorted(pending.values())))
                time.sleep(0.1)
                continue
            for fut in sorted(finished, key=lambda f: pending[f]):
                name = pending.pop(fut)
                try:
                    entry, files = fut.result()
                except (KeyboardInterrupt, BudgetExceeded):
                    raise
                except Exception as exc:
                    done(_failed_entry(name, exc))
                    continue
                sub = out / name
                for rel, data in files.items():
                    parts = Path(rel).parts
                    if Path(rel).is_absolute() or ".." in parts or not parts:
                        continue       # never outside OUT/NAME
                    (sub / rel).parent.mkdir(parents=True, exist_ok=True)
                    atomic_write_bytes(sub / rel, data)
                done(entry)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(list(pending), force=True)
        raise


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
