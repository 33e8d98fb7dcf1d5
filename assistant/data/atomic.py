"""Writing a file so that a failure never leaves it half-written, and one process at a time in a folder."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then replace it: a failure never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        # mkstemp makes the file private (0600): keep the mode of the file it replaces (or its folder's r/w bits)
        os.chmod(tmp, (path if path.exists() else path.parent).stat().st_mode & 0o666)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def folder_lock(folder: Path):
    """An exclusive lock held on `folder` itself (flock on its descriptor), so no lock file is left in it; other
    processes taking the same lock wait."""
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
