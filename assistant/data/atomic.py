"""Writing a file so that a failure never leaves it half-written."""

from __future__ import annotations

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
