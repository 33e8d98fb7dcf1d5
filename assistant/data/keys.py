"""Stable duty keys: what the hand-kept files point at, so that the 序号 (and with it the id) can change freely.

A duty's `id` (basic-N / coop-N / reclaimed-N) is its place in one year's list; its `key` names the duty itself:

- at its first publication, a short content hash of its list and title (`k-` + 8 hex digits of sha256, with a
  letter first so that a spreadsheet never reads it as a number);
- thereafter carried over by `duty-assistant list update` (assistant/data/update.py), which aligns next year's
  list with this one by content and writes the keys it carries to `data/source/<source>.keys.tsv`, so that
  `duty-assistant parse` gives every duty the same key again (`parse --check` stays reproducible).

Pure functions except the two that read and write the keys file.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from assistant.domain import Duty
from assistant.errors import DataError

KEY_PREFIX = "k-"


def content_key(list_value: str, title: str) -> str:
    """The key a duty gets at its first publication: `k-` + 8 hex digits of sha256(list, title)."""
    return KEY_PREFIX + hashlib.sha256(f"{list_value}\n{title}".encode("utf-8")).hexdigest()[:8]


def keys_file(source: Path) -> Path:
    """`data/source/banjiegou-2026.txt` → `data/source/banjiegou-2026.keys.tsv` (its carried-over keys)."""
    return source.with_name(source.stem + ".keys.tsv")


def read_carried(path: Path) -> dict[str, str]:
    """The keys file (`id<TAB>key<TAB>note`, a header line first) → {duty id: key}; {} when there is none."""
    if not path.exists():
        return {}
    carried: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if number == 1 or not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) < 2 or not cells[1].startswith(KEY_PREFIX):
            raise DataError(f"{path}:{number}: expected `id<TAB>key<TAB>note` with a key like k-3f9a2c1b; "
                            "it is written by `duty-assistant list update --apply`, restore it with git")
        carried[cells[0].strip()] = cells[1].strip()
    return carried


def write_carried(path: Path, rows: list[tuple[str, str, str]]) -> None:
    """Write the keys file: (new id, key, note saying where the key came from) per carried duty."""
    from assistant.data.atomic import write_atomic

    lines = ["id\tkey\tcarried from (written by `duty-assistant list update --apply`; do not edit)"]
    lines += [f"{duty_id}\t{key}\t{note}" for duty_id, key, note in rows]
    write_atomic(path, "\n".join(lines) + "\n")


def assign_keys(duties: list[Duty], carried: dict[str, str] | None = None) -> list[Duty]:
    """Each duty with its key: the carried-over one where the keys file has it, else its content key.

    Two duties of one list with the same title would get the same content key; the later ones get `-2`, `-3`….
    """
    carried = carried or {}
    seen: set[str] = set()
    out = []
    for duty in duties:
        key = unique(carried.get(duty.id) or content_key(duty.list.value, duty.title), seen)
        seen.add(key)
        out.append(replace(duty, key=key))
    return out


def unique(key: str, taken: set[str]) -> str:
    """`key`, or `key-2`, `key-3` … the first that is not taken (two duties whose content gives one key)."""
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        candidate = f"{key}-{n}"
    return candidate


def key_map(duties: list[Duty]) -> dict[str, str]:
    """{key: duty id} of one list."""
    return {d.key: d.id for d in duties if d.key}
