"""Progress reporting on stderr for long runs (sweeps, training, reproduce).

Examples
--------
>>> import io
>>> buf = io.StringIO()
>>> with Progress("sweep", total=2, stream=buf) as p:
...     p.update("h=0.1"); p.update("h=0.05")
>>> "sweep" in buf.getvalue() and "2/2" in buf.getvalue()
True
"""
from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["Progress"]

_STDERR: Any = object()   # default stream: whatever sys.stderr is when a meter is created


class Progress:
    """A minimal progress meter writing one line per update to ``stream``.

    Parameters
    ----------
    label : str
        What is being done.
    total : int, optional
        Number of expected updates.
    stream : file-like, optional
        Default: ``sys.stderr`` as it is when the meter is created; ``None`` disables
        output.
    """

    def __init__(self, label: str, total: int | None = None, stream: Any = _STDERR,
                 enabled: bool = True):
        if stream is _STDERR:   # looked up now: sys.stderr may have been replaced since import
            stream = sys.stderr
        self.label, self.total, self.stream = label, total, stream if enabled else None
        self.count = 0
        self.t0 = time.perf_counter()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.stream is not None and exc_type is KeyboardInterrupt:
            self.stream.write(f"[{self.label}] interrupted after {self.count} step(s)\n")
            self.stream.flush()

    def update(self, message: str = "") -> None:
        """Record one finished unit of work and print a line."""
        self.count += 1
        if self.stream is None:
            return
        tot = f"/{self.total}" if self.total else ""
        el = time.perf_counter() - self.t0
        self.stream.write(f"[{self.label}] {self.count}{tot} {message} ({el:.1f}s)\n")
        self.stream.flush()
