"""Figures (matplotlib only; every function returns a ``Figure`` and never
touches global pyplot state).  One module per topic.

:func:`save_figure` writes a figure atomically (a temporary file in the same folder, renamed
onto the final name), so an interrupted run never leaves a truncated image."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ibsym.core.errors import InputError
from ibsym.core.files import atomic_save

__all__ = ["save_figure"]


def save_figure(fig: Any, path: str | Path, **kwargs: Any) -> Path:
    """Save a matplotlib figure to ``path`` atomically; the format follows the suffix.

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
    return atomic_save(path, lambda fh: fig.savefig(fh, format=fmt, **kwargs))
