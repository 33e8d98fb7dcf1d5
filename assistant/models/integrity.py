"""Is a file still the one whose sha256 was recorded? Cheap enough for every start, not fooled by a restored mtime.

Every file the assistant computes with has its sha256 recorded when it is made from verified inputs: a model's
files in its verified mark (registry.py), the ONNX export's files in its export.json (onnx.py), the index's
files in its manifest (search/index.py, re-hashed at every load: 11 MB). Hashing the 2.5 GB of model and export
at every start would cost seconds, so `check_files` hashes a big file only when its fingerprint — size, mtime,
ctime, inode, device — differs from the one remembered the last time it hashed that file and found it right;
files up to SMALL_FILE bytes are hashed every time. A file's ctime cannot be set back (`touch -d` or
`os.utime` set it to now), so a file changed in place and given its old mtime again is hashed again.
`full=True` hashes every file whatever its fingerprint (`doctor --full`, `model verify`).

The remembered fingerprints live in a small JSON file beside the files (MEMO), rewritten atomically; a
read-only folder only makes the check slower (everything is hashed), never wrong.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from assistant.data.store import sha256_file

SMALL_FILE = 4 << 20  # bytes: files up to this size are hashed at every check
MEMO = "duty-assistant-checked.json"


def fingerprint(path: Path) -> list[int]:
    """What changes whenever a file's bytes can have changed: size, mtime, ctime, inode and device."""
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


@dataclass(frozen=True)
class Mismatch:
    """A recorded file that is not as recorded: `missing`, or `sha256` (other bytes)."""

    rel: str
    kind: str


class Fingerprints:
    """The fingerprints of files last hashed and found as recorded, in `folder / MEMO`.

    Args:
        folder: the folder whose files are checked (and where the memo lives).
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / MEMO
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.known: dict[str, dict] = data if isinstance(data, dict) else {}
        except (OSError, ValueError):  # absent or damaged: everything big is hashed once more
            self.known = {}
        self.changed = False

    def unchanged(self, rel: str, sha256: str) -> bool:
        """The file was hashed to `sha256` and its fingerprint has not changed since."""
        entry = self.known.get(rel)
        if not isinstance(entry, dict) or entry.get("sha256") != sha256:
            return False
        try:
            return entry.get("fingerprint") == fingerprint(self.folder / rel)
        except OSError:
            return False

    def remember(self, rel: str, sha256: str) -> None:
        entry = {"fingerprint": fingerprint(self.folder / rel), "sha256": sha256}
        if self.known.get(rel) != entry:
            self.known[rel] = entry
            self.changed = True

    def save(self) -> None:
        """Write the memo (atomically); a folder we may not write to is left as it is."""
        if not self.changed:
            return
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{MEMO}.", dir=self.folder)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.known, handle, indent=1, sort_keys=True)
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path)  # replaces a symlink rather than writing through it
            self.changed = False
        except OSError:
            pass


def check_files(folder: Path, expected: dict[str, str], *, full: bool = False) -> list[Mismatch]:
    """Each recorded file of `folder` that is missing or no longer has its recorded sha256.

    Args:
        folder: the folder the relative paths of `expected` are in.
        expected: relative path → sha256 recorded when the file was made or verified.
        full: hash every file (otherwise big files whose fingerprint is unchanged are not read).
    Returns:
        The mismatches, in the order of `expected`'s sorted paths; [] when every file is as recorded.
    """
    memo = Fingerprints(folder)
    found = []
    for rel in sorted(expected):
        file = Path(folder) / rel
        try:
            size = file.stat().st_size
        except OSError:
            found.append(Mismatch(rel, "missing"))
            continue
        if not full and size > SMALL_FILE and memo.unchanged(rel, expected[rel]):
            continue
        if sha256_file(file) != expected[rel]:
            found.append(Mismatch(rel, "sha256"))
        else:
            memo.remember(rel, expected[rel])
    memo.save()
    return found


def hash_files(folder: Path, rels) -> dict[str, str]:
    """sha256 of each file (relative paths), remembering the fingerprints of those just hashed."""
    memo = Fingerprints(folder)
    hashes = {}
    for rel in sorted(rels):
        hashes[rel] = sha256_file(Path(folder) / rel)
        memo.remember(rel, hashes[rel])
    memo.save()
    return hashes


def remember(folder: Path, hashes: dict[str, str]) -> None:
    """Record the fingerprints of files whose sha256 were just computed (at fetch or export), so the next check
    does not read them again."""
    memo = Fingerprints(folder)
    for rel, digest in hashes.items():
        memo.remember(rel, digest)
    memo.save()
