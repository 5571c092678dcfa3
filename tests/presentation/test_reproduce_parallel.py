"""``ibsym reproduce`` in parallel (issue 16 item 6): a local process pool by default, a Dask
cluster with ``--scheduler``; results identical to a serial run, the report in name order,
longest derivations first, Ctrl-C and the budget stop every worker, bad options exit 2."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ibsym.reproduce as rp
from ibsym.cli import main
from ibsym.core.errors import BudgetExceeded
from ibsym.reproduce import reproduce

QUICK = ["barrett_dherin_2021_igr", "min_norm_least_squares"]   # ~2 s CPU each with --quick

# each derivation leaks state (warnings filter, rcParams, global random) and reports what it
# found: in a serial run without isolation the second would see the first one's
LEAKY = """IBSYM_DERIVATION = True
import random, time, warnings
import numpy as np
import matplotlib
from pathlib import Path


def main(out, *, quick=False):
    seen = {{"linewidth": matplotlib.rcParams["lines.linewidth"],
            "filters": len(warnings.filters), "random": random.random(),
            "np_random": float(np.random.rand())}}
    matplotlib.rcParams["lines.linewidth"] = 7.0
    warnings.simplefilter("ignore")
    random.seed(123)
    np.random.seed(123)
    (Path(out) / "seen.json").write_text(__import__("json").dumps(seen))
    return {{"title": "{name}", "files": ["seen.json"],
            "checks": [{{"name": "state", "value": seen, "oracle": None, "ok": True}}]}}
"""

TIMED = """IBSYM_DERIVATION = True
{cost}
import time
from pathlib import Path


def main(out, *, quick=False):
    (Path(out) / "start.txt").write_text(repr(time.time()))
    time.sleep(0.6)
    return {{"title": "{name}", "checks": [{{"name": "x", "value": 1, "oracle": 1, "ok": True}}]}}
"""

SLOW = """IBSYM_DERIVATION = True
import os, time
from pathlib import Path
from ibsym.core.files import atomic_write_bytes


def main(out, *, quick=False):
    (Path(out) / "pid.txt").write_text(str(os.getpid()))
    for i in range(100000):         # writes 1 MB files as fast as it can until stopped
        atomic_write_bytes(Path(out) / f"blob{{i % 3}}.bin", bytes([i % 251]) * 2**20)
        if i > 3:
            time.sleep(0.01)
    return {{"title": "slow"}}
"""


def _folder(tmp_path, scripts):
    d = tmp_path / "derivs"
    d.mkdir(exist_ok=True)
    for name, text in scripts.items():
        (d / f"{name}.py").write_text(text)
    return d


def _comparable(summary):
    """A run's results without what legitimately differs between runs (times)."""
    drop = {"seconds", "cpu_seconds"}
    return [{k: v for k, v in r.items() if k not in drop} for r in summary["results"]]


def _timeless(value):
    """JSON data without its timings (keys that mention seconds)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if "seconds" not in k}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _files(out, names, suffixes=(".json", ".tex", ".py", ".png")):
    """The outputs of ``names`` under ``out``: bytes, JSON files without their timings."""
    files = {}
    for n in names:
        for p in sorted((out / n).rglob("*")):
            if p.is_file() and p.suffix in suffixes:
                data = p.read_bytes()
                files[str(p.relative_to(out))] = (_timeless(json.loads(data))
                                                  if p.suffix == ".json" else data)
    return files


def _dead(pid):
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "zombie" in state or "\nState:\tZ" in state


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    """QUICK run one after another in this process (the reference of the parallel runs)."""
    out = tmp_path_factory.mktemp("serial")
    return out, reproduce(QUICK, out, quick=True, progress=False, jobs=1)


def test_serial_and_parallel_runs_give_identical_results(tmp_path, serial_run):
    serial_out, serial = serial_run
    par = reproduce(QUICK, tmp_path / "par", quick=True, progress=False, jobs=2)
    assert serial["ok"] and par["ok"]
    assert serial["run"]["jobs"] == 1 and par["run"]["jobs"] == 2
    assert [r["name"] for r in par["results"]] == QUICK
    assert _comparable(serial) == _comparable(par)
    a, b = _files(serial_out, QUICK), _files(tmp_path / "par", QUICK)
    assert sorted(a) == sorted(b) and len(a) >= 8
    assert {k for k in a if a[k] != b[k]} == set()        # identical JSON, LaTeX, PNG
    for r in par["results"]:
        assert r["cpu_seconds"] > 0 and r["seconds"] > 0
    summary = json.loads((tmp_path / "par" / "summary.json").read_text())
    assert summary["run"]["quick"] is True and summary["run"]["cpu_seconds"] > 0


def test_each_derivation_starts_from_a_fresh_state_serial_or_parallel(tmp_path):
    d = _folder(tmp_path, {n: LEAKY.format(name=n) for n in ("a", "b", "c")})
    runs = {jobs: reproduce([], tmp_path / f"o{jobs}", directory=d, progress=False, jobs=jobs)
            for jobs in (1, 3)}
    seen = {jobs: [r["checks"][0]["value"] for r in res["results"]]
            for jobs, res in runs.items()}
    import matplotlib
    default = matplotlib.rcParamsDefault["lines.linewidth"]
    for jobs, values in seen.items():
        assert [v["linewidth"] for v in values] == [default] * 3, jobs   # no rcParams leak
        assert len({v["random"] for v in values}) == 1, jobs              # seeded alike
        assert len({v["np_random"] for v in values}) == 1, jobs
        assert len({v["filters"] for v in values}) == 1, jobs             # no filter leak
    assert [v["random"] for v in seen[1]] == [v["random"] for v in seen[3]]
    assert [v["np_random"] for v in seen[1]] == [v["np_random"] for v in seen[3]]
    # and the caller's own state is given back after an in-process run
    assert matplotlib.rcParams["lines.linewidth"] == default


def test_longest_first_and_the_report_in_name_order(tmp_path):
    costs = {"a_short": "IBSYM_COST = 1", "b_long": "IBSYM_COST = 50",
             "c_unknown": "", "d_mid": "IBSYM_COST = 20"}
    d = _folder(tmp_path, {n: TIMED.format(name=n, cost=c) for n, c in costs.items()})
    res = reproduce([], tmp_path / "o", directory=d, progress=False, jobs=2)
    assert res["ok"] and [r["name"] for r in res["results"]] == sorted(costs)
    start = {n: float((tmp_path / "o" / n / "start.txt").read_text()) for n in costs}
    # two workers: the unknown one (no estimate: first) and the longest start before the others
    assert max(start["c_unknown"], start["b_long"]) < min(start["d_mid"], start["a_short"])
    md = (tmp_path / "o" / "report.md").read_text()
    assert [md.index(f"`{n}`") for n in sorted(costs)] == sorted(
        md.index(f"`{n}`") for n in costs)


def test_the_previous_run_times_set_the_order(tmp_path):
    d = _folder(tmp_path, {n: TIMED.format(name=n, cost="IBSYM_COST = 5") for n in "xyz"})
    out = tmp_path / "o"
    out.mkdir()
    (out / "summary.json").write_text(json.dumps({"run": {"quick": False}, "results": [
        {"name": "x", "seconds": 1.0}, {"name": "y", "seconds": 9.0}, {"name": "z", "seconds": 3.0}]}))
    assert rp._previous_seconds(out, quick=False) == {"x": 1.0, "y": 9.0, "z": 3.0}
    assert rp._previous_seconds(out, quick=True) == {}           # other sizes: not comparable
    scripts = rp.find_derivations(d)
    hist = rp._previous_seconds(out, quick=False)
    assert sorted(scripts, key=lambda n: -rp._expected_seconds(scripts[n], n, hist)) == [
        "y", "z", "x"]
    assert rp._expected_seconds(scripts["x"], "x", {}) == 5.0
    (out / "summary.json").write_text("{not json")
    assert rp._previous_seconds(out, quick=False) == {}


def test_every_shipped_derivation_has_a_cost_estimate_or_runs_first():
    scripts = rp.find_derivations()
    costs = {n: rp._expected_seconds(p, n, {}) for n, p in scripts.items()}
    assert all(c > 0 for c in costs.values()), costs


def test_a_worker_enforces_the_budget_on_its_own(tmp_path):
    d = _folder(tmp_path, {"sleepy": "IBSYM_DERIVATION = True\nimport time\n"
                           "def main(out, *, quick=False):\n    time.sleep(30)\n"})
    with pytest.raises(BudgetExceeded, match="exceeded the time budget of 7 s while running "
                                             "derivation sleepy"):
        rp._pool_task("sleepy", str(d / "sleepy.py"), str(tmp_path / "o"), False,
                      time.time() + 1.0, 7.0, "run fewer")
    with pytest.raises(BudgetExceeded, match="before derivation sleepy"):   # already past
        rp._pool_task("sleepy", str(d / "sleepy.py"), str(tmp_path / "o"), False,
                      time.time() - 1.0, 7.0, "run fewer")


def _start(tmp_path, d, out, *extra):
    env = dict(os.environ, MPLBACKEND="Agg", TMPDIR=str(tmp_path))
    return subprocess.Popen(
        [sys.executable, "-m", "ibsym", "reproduce", "--derivations", str(d), "--out", str(out),
         *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)


def _wait_for_pids(out, names, proc):
    pids = {}
    for _ in range(600):                        # both workers running (60 s at most)
        pids = {n: (out / n / "pid.txt") for n in names}
        if all(p.is_file() and p.read_text() for p in pids.values()):
            return {n: int(p.read_text()) for n, p in pids.items()}
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    raise AssertionError("the workers did not start")


def _assert_stopped_cleanly(out, pids):
    for n, pid in pids.items():
        for _ in range(50):
            if _dead(pid):
                break
            time.sleep(0.1)
        assert _dead(pid), f"worker of {n} still running"
    assert not (out / "report.md").exists() and not (out / "summary.json").exists()
    hidden = [str(p.relative_to(out)) for p in out.rglob(".*") if p.name != ".ibsym.lock"]
    assert hidden == []                         # no temporaries of a stopped writer
    for p in out.rglob("blob*.bin"):            # every file there is whole
        data = p.read_bytes()
        assert len(data) == 2**20 and data == data[:1] * 2**20, p


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_stops_every_worker_and_exits_130(tmp_path):
    d = _folder(tmp_path, {"s1": SLOW.format(), "s2": SLOW.format(), "s3": SLOW.format()})
    out = tmp_path / "o"
    proc = _start(tmp_path, d, out, "--jobs", "2")
    try:
        pids = _wait_for_pids(out, ["s1", "s2"], proc)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)          # the parent only: it must stop the workers
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr.decode()
    lines = [ln for ln in stderr.decode().splitlines() if not ln.startswith("[")]
    assert lines == ["ibsym reproduce: interrupted"]
    assert stdout == b""
    _assert_stopped_cleanly(out, pids)
    assert not (out / "s3").exists()             # never started


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_budget_stops_every_worker_and_exits_2(tmp_path):
    d = _folder(tmp_path, {"s1": SLOW.format(), "s2": SLOW.format()})
    out = tmp_path / "o"
    proc = _start(tmp_path, d, out, "--jobs", "2", "--budget", "12")
    try:
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 2, stderr.decode()
    lines = [ln for ln in stderr.decode().splitlines() if not ln.startswith("[")]
    assert len(lines) == 1 and "exceeded the time budget of 12 s" in lines[0], lines
    # the workers that had started (on a loaded machine perhaps none) are stopped
    pids = {n: int((out / n / "pid.txt").read_text()) for n in ("s1", "s2")
            if (out / n / "pid.txt").is_file() and (out / n / "pid.txt").read_text()}
    _assert_stopped_cleanly(out, pids)


@pytest.mark.parametrize("args, message", [
    (["--jobs", "0"], "--jobs must be a positive whole number (at most 1024), got '0'"),
    (["--jobs", "two"], "--jobs must be a positive whole number (at most 1024), got 'two'"),
    (["--jobs", "\u00b2"], "--jobs must be a positive whole number"),
    (["--jobs", "-1"], "--jobs must be a positive whole number"),
    (["--jobs", "1025"], "--jobs must be a positive whole number (at most 1024)"),
    (["--jobs", "9" * 5000], "--jobs must be a positive whole number"),
    (["--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], "give one of them"),
    (["--scheduler", "localhost"], "--scheduler needs the address of a Dask scheduler"),
    (["--scheduler", "tcp://h:1; rm -rf /"], "--scheduler needs the address of a Dask scheduler"),
])
def test_bad_parallel_options_exit_2_before_anything_is_written(tmp_path, capsys, args,
                                                                 message):
    d = _folder(tmp_path, {"a": TIMED.format(name="a", cost="")})
    code = main(["reproduce", "--derivations", str(d), "--out", str(tmp_path / "o"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def test_scheduler_without_dask_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)       # import distributed fails
    d = _folder(tmp_path, {"a": TIMED.format(name="a", cost="")})
    code = main(["reproduce", "--derivations", str(d), "--out", str(tmp_path / "o"),
                 "--scheduler", "tcp://127.0.0.1:8786"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == ("ibsym reproduce: error: --scheduler needs dask.distributed: "
                   "pip install 'ibsym[dask]'\n")
    assert not (tmp_path / "o").exists()


def test_an_unreachable_scheduler_exits_2_before_anything_is_written(tmp_path, capsys):
    pytest.importorskip("distributed")
    d = _folder(tmp_path, {"a": TIMED.format(name="a", cost="")})
    code = main(["reproduce", "--derivations", str(d), "--out", str(tmp_path / "o"),
                 "--scheduler", "tcp://127.0.0.1:1", "--budget", "4"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'" in err, err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_a_dask_cluster_gives_the_same_results_as_a_serial_run(tmp_path, serial_run):
    distributed = pytest.importorskip("distributed")
    serial_out, serial = serial_run
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        res = reproduce(QUICK, tmp_path / "dask", quick=True, progress=False,
                        scheduler=cluster.scheduler_address)
    assert res["ok"] and res["run"]["jobs"] == "dask"
    assert [r["name"] for r in res["results"]] == QUICK
    assert _comparable(serial) == _comparable(res)
    a, b = _files(serial_out, QUICK), _files(tmp_path / "dask", QUICK)
    assert sorted(a) == sorted(b) and {k for k in a if a[k] != b[k]} == set()
    md = (tmp_path / "dask" / "report.md").read_text()
    assert md.index(QUICK[0]) < md.index(QUICK[1]) and "FAILURES" not in md
