"""Files written atomically: a reader never sees a truncated output.

Every file ibsym writes goes to a temporary name in the same folder first and is renamed onto
its final name (``os.replace``, atomic on POSIX), so a run killed at any point leaves either the
previous complete file or none -- never a 0-byte or half-written one.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> p = atomic_write_text(d / "a.json", '{"ok": true}\\n')
>>> p.read_text()
'{"ok": true}\\n'
>>> sorted(x.name for x in d.iterdir())
['a.json']
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from ibsym.core.errors import InputError

__all__ = ["atomic_write_text", "atomic_write_bytes", "atomic_file", "atomic_save"]


def _parent_dir(path: Path) -> Path:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise InputError(f"cannot write {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise InputError(f"cannot write {path}: {parent} is not a folder")
    return parent


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "w", **kw: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success rename it onto ``path``.

    On an exception inside the block the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    parent = _parent_dir(path)
    if "b" not in mode:
        kw.setdefault("encoding", "utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, mode, **kw) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_file(path, "w") as fh:
        fh.write(text)
    return Path(path)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_file(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def atomic_save(path: str | Path, save: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``save(fh)`` on a binary temporary file and rename it onto ``path``.

    For writers that take a file object, e.g. ``atomic_save(p, lambda f: fig.savefig(f,
    format="pdf"))``."""
    with atomic_file(path, "wb") as fh:
        save(fh)
    return Path(path)
