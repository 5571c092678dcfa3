"""BLAS threads: run a block with a given number of OpenBLAS threads (NumPy).

The factorization loops multiply small matrices: for 100×100 matrices a multi-threaded BLAS
only adds synchronization, and on a loaded machine it can be 100× slower, so
:func:`ibsym.deep_linear.training.train` and the experiments run BLAS single-threaded.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
from collections.abc import Iterator
from typing import Any

__all__ = ["blas_threads"]


# ============================================================================ BLAS threads
@functools.lru_cache(maxsize=1)
def _blas_controls() -> tuple[tuple[Any, Any], ...]:
    """(set, get) pairs of the OpenBLAS libraries loaded in this process (Linux)."""
    names = (("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
             ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
             ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
             ("openblas_set_num_threads", "openblas_get_num_threads"))
    out = []
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln and ".so" in ln})
    except OSError:  # pragma: no cover - not Linux
        return ()
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:  # pragma: no cover
            continue
        for set_name, get_name in names:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                out.append((getattr(lib, set_name), getattr(lib, get_name)))
                break
    return tuple(out)


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` OpenBLAS threads (``None``: unchanged), then restore.

    Examples
    --------
    >>> with blas_threads(1):
    ...     pass
    """
    controls = _blas_controls() if n is not None else ()
    old = [get() for _, get in controls]
    for set_, _ in controls:
        set_(int(n))
    try:
        yield
    finally:
        for (set_, _), v in zip(controls, old):
            set_(int(v))
