"""Figures (matplotlib only; every function returns a ``Figure`` and never
touches global pyplot state).  One module per topic.

:func:`save_figure` writes a figure atomically (a temporary file in the same folder, renamed
onto the final name), so an interrupted run never leaves a truncated image."""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ibsym.core.errors import InputError
from ibsym.core.files import atomic_save

__all__ = ["save_figure", "vector_sidecars", "MIN_DPI"]


#: Lowest resolution of a raster figure (a lower ``dpi`` request is raised to it).
MIN_DPI = 200

_VECTOR = contextvars.ContextVar("ibsym_vector_sidecars", default=False)


@contextlib.contextmanager
def vector_sidecars(on: bool = True) -> Iterator[None]:
    """Within the block, every ``.png`` saved by :func:`save_figure` also gets a vector
    ``.pdf`` and ``.svg`` beside it (``reproduce`` runs its derivations so, for the papers'
    figures)."""
    token = _VECTOR.set(on)
    try:
        yield
    finally:
        _VECTOR.reset(token)


def save_figure(fig: Any, path: str | Path, *, vector: bool | None = None,
                **kwargs: Any) -> Path:
    """Save a matplotlib figure to ``path`` atomically; the format follows the suffix.

    Figures are for papers: a raster format is written at ``dpi`` ≥ :data:`MIN_DPI` (200),
    and with ``vector=True`` (default: inside :func:`vector_sidecars`) a ``.png`` gets a
    vector ``.pdf`` and ``.svg`` beside it (same stem).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
        Target file; its folder must exist.  ``.png``, ``.pdf``, ``.svg`` … (whatever the
        figure's canvas supports).
    **kwargs
        Passed to ``fig.savefig`` (e.g. ``dpi``).

    Returns
    -------
    Path

    Raises
    ------
    InputError
        For a suffix matplotlib cannot write, or a missing folder (nothing is written).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from matplotlib.figure import Figure
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> save_figure(Figure(), d / "empty.png").read_bytes()[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    >>> save_figure(Figure(), d / "empty.xyz")
    Traceback (most recent call last):
    ...
    ibsym.core.errors.InputError: cannot write figure empty.xyz: unknown format 'xyz'; choose one of ...
    """
    path = Path(path)
    fmt = str(kwargs.pop("format", None) or path.suffix.lstrip(".")).lower()
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise InputError(f"cannot write figure {path.name}: unknown format '{fmt}'; choose one "
                         f"of {', '.join(sorted(supported))}")
    if fmt in ("png", "jpg", "jpeg", "tif", "tiff", "webp"):
        kwargs["dpi"] = max(float(kwargs.get("dpi") or 0), MIN_DPI)
    out = atomic_save(path, lambda fh: fig.savefig(fh, format=fmt, **kwargs))
    if (_VECTOR.get() if vector is None else vector) and fmt == "png":
        vec = {k: v for k, v in kwargs.items() if k != "dpi"}
        for side in ("pdf", "svg"):
            if side in supported:
                atomic_save(path.with_suffix("." + side),
                            lambda fh, side=side: fig.savefig(fh, format=side, **vec))
    return out
