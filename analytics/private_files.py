"""Files holding customer data are created owner-only (0600), and the folders made for them 0700, whatever the umask.

The mode is set when the file is created (before any data is written), not left to the umask, which commonly
gives 0644: readable by every account on the machine. Existing folders are left alone (a folder such as the
repository's `data/` may be shared on purpose); existing files we write are tightened to 0600.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_private_dir(path: Path | str) -> Path:
    """Create `path` and any missing parents with mode 0700 (existing folders keep their mode)."""
    path = Path(path)
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:   # made meanwhile by someone else: theirs to decide
            continue
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def create_private_file(path: Path | str) -> Path:
    """Make sure `path` exists with mode 0600 (its folders made 0700), keeping any content it has.

    For writers that open a path themselves (sqlite3, matplotlib, pyarrow): an existing file keeps its mode
    when they truncate it, so creating it first decides the mode before any byte is written.
    """
    path = Path(path)
    make_private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        _set_mode(descriptor, path)
    finally:
        os.close(descriptor)
    return path


def open_private(path: Path | str, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """`open(path, mode)` for writing ("w", "wb", "a", ...), with the file created or tightened to 0600 first."""
    if not any(flag in mode for flag in "wax"):
        raise ValueError(f"open_private is for writing, not mode {mode!r}")
    path = Path(path)
    make_private_dir(path.parent)
    flags = os.O_WRONLY | os.O_CREAT
    flags |= os.O_TRUNC if "w" in mode else os.O_APPEND if "a" in mode else os.O_EXCL
    if "+" in mode:
        flags = (flags & ~os.O_WRONLY) | os.O_RDWR
    descriptor = os.open(path, flags, FILE_MODE)
    try:
        _set_mode(descriptor, path)
        return os.fdopen(descriptor, mode, **kwargs)
    except BaseException:
        os.close(descriptor)
        raise


def tighten(path: Path | str) -> bool:
    """Take group and other permissions off an existing file or folder (one made before this rule).

    False when the file is missing or belongs to another account (then it is left as it is).
    """
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
    except (FileNotFoundError, PermissionError):
        return False
    return True


def _set_mode(descriptor: int, path: Path) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, FILE_MODE)
    else:  # pragma: no cover - platforms without fchmod
        os.chmod(path, FILE_MODE)
