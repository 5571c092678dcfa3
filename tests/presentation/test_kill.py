"""SIGKILL ``ibsym reproduce`` at seeded random moments: no truncated file is ever presented as
complete (issue 17 item 6).

One fast derivation (``barrett_dherin_2021_igr --quick``, ~3 s) runs into the same ``--out``
again and again and is killed at random times; after every kill each file there must be whole
(JSON parses, PNG/PDF have their header and trailer, LaTeX documents end), and a report, if
present, must agree with the files present.  Bounded: a few kills, well under a minute.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

NAME = "barrett_dherin_2021_igr"
KILLS = 6


def _command(out: Path) -> list[str]:
    return [sys.executable, "-m", "ibsym", "reproduce", NAME, "--quick", "--out", str(out)]


def _env(tmp: Path) -> dict:
    env = dict(os.environ)
    env["TMPDIR"] = str(tmp)               # a private system temp: leftovers can be counted
    env["MPLBACKEND"] = "Agg"
    return env


def _whole(path: Path) -> str | None:
    """Why ``path`` is not a complete file (None when it is)."""
    data = path.read_bytes()
    if not data:
        return "empty"
    suffix = path.suffix
    if suffix == ".json":
        try:
            json.loads(data)
        except ValueError as exc:
            return f"invalid JSON ({exc})"
    elif suffix == ".png":
        if not (data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")):
            return "truncated PNG"
    elif suffix == ".pdf":
        if not (data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]):
            return "truncated PDF"
    elif suffix == ".tex":
        text = data.decode("utf-8")
        if "\\documentclass" in text and not text.rstrip().endswith("\\end{document}"):
            return "truncated LaTeX document"
    elif suffix == ".py":
        compile(data, str(path), "exec")
    return None


def _check(out: Path) -> None:
    # hidden names are a killed run's temporaries (.name.tmp, .ibsym-tex-*/): never presented as
    # results, removed by the next run (checked at the end of the test)
    bad = {str(p.relative_to(out)): why for p in out.rglob("*")
           if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)
           and (why := _whole(p))}
    assert not bad, bad
    if (out / "report.md").exists():
        # report.md is written last: what it and summary.json describe is there and final
        summary = json.loads((out / "summary.json").read_text())
        md = (out / "report.md").read_text()
        for r in summary["results"]:
            assert r["name"] in md
            for f in r.get("files", []):
                assert (out / r["name"] / f).is_file(), f
                assert f"{r['name']}/{f}" in md
        pdf = summary.get("pdf", {}).get("status")
        assert (out / "report.pdf").is_file() == (pdf == "ok"), pdf
    else:
        assert not (out / "summary.json").exists() or json.loads(
            (out / "summary.json").read_text())["results"]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX only")
def test_sigkill_at_random_times_never_leaves_a_truncated_file(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "out"
    t0 = time.monotonic()
    full = subprocess.run(_command(out), env=_env(tmp), capture_output=True, timeout=120)
    duration = time.monotonic() - t0
    assert full.returncode == 0, full.stderr.decode()[-2000:]
    _check(out)
    rng = random.Random(20261201)
    for _ in range(KILLS):
        delay = rng.uniform(0.2, duration)
        proc = subprocess.Popen(_command(out), env=_env(tmp), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)      # the run and its pdflatex, mid-write
            proc.wait(timeout=30)
        _check(out)
        assert not [p for p in tmp.iterdir() if p.name.startswith("ibsym-tex-")]
    # the next complete run cleans up what the killed ones left (temporaries, build folders)
    final = subprocess.run(_command(out), env=_env(tmp), capture_output=True, timeout=120)
    assert final.returncode == 0, final.stderr.decode()[-2000:]
    _check(out)
    leftovers = [str(p.relative_to(out)) for p in out.rglob(".*")
                 if p.name != ".ibsym.lock"]
    assert leftovers == []
    assert json.loads((out / "summary.json").read_text())["ok"] is True
