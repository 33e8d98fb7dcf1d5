"""Uyghur and Kazakh versions of an answer's fixed labels, shown beside the Chinese ones (data/glossary.tsv).

An answer to a question in Uyghur or Kazakh keeps the list's Chinese text as it is (titles, steps, body names);
what the assistant itself says — the tier, the responsibility line ("本镇负责", "…牵头，本镇配合", "请到…办理"),
the headings — is shown in Chinese with the question's language beside it:

    本镇负责 / ⁨بۇ ئىشقا بازار ئۆزى مەسئۇل⁩

The other-language part is wrapped in Unicode first-strong isolates (FSI … PDI), so right-to-left text sits
inside the Chinese line without reordering it, in a terminal as on the web page, with no markup.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

from assistant.errors import DataError

LANGUAGES = ("ug", "kk", "kk-Arab")  # the glossary's columns; assistant.search.scripts tells them apart
SEPARATOR = " / "
_FSI, _PDI = "\u2068", "\u2069"


def load_glossary(path: Path) -> dict[str, dict[str, str]]:
    """key → {"zh": …, "ug": …, "kk": …, "kk-Arab": …} from the TSV (lines starting with # are comments).

    A row without all of its columns, or a duplicated key, is a DataError naming the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise DataError(f"cannot read the label glossary {path} ({err.strerror or err})") from None
    rows = [line for line in lines if line.strip() and not line.startswith("#")]
    if not rows:
        raise DataError(f"{path} holds no labels")
    reader = csv.DictReader(rows, delimiter="\t", quoting=csv.QUOTE_NONE)
    needed = {"key", "zh", *LANGUAGES}
    if not needed <= set(reader.fieldnames or ()):
        raise DataError(f"{path}: the header must name the columns {', '.join(sorted(needed))}")
    glossary: dict[str, dict[str, str]] = {}
    for number, row in enumerate(reader, start=2):
        if any(not (row.get(k) or "").strip() for k in needed):
            raise DataError(f"{path}: label row {number} ({row.get('key')!r}) lacks one of {', '.join(sorted(needed))}")
        if row["key"] in glossary:
            raise DataError(f"{path}: label {row['key']!r} appears twice")
        glossary[row["key"]] = {k: row[k].strip() for k in needed - {"key"}}
    return glossary


@functools.cache
def _default_glossary() -> dict[str, dict[str, str]]:
    from assistant.settings import current

    return load_glossary(current().glossary)


def beside(zh_labels: dict[str, str], lang: str, glossary: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    """The Chinese labels with the glossary's `lang` version beside each label the glossary holds.

    Args:
        zh_labels: the Chinese label table (assistant.labels.LABELS["zh"]).
        lang: "ug", "kk" or "kk-Arab".
        glossary: the loaded glossary (default: data/glossary.tsv of this checkout).
    Returns:
        A new table; labels the glossary lacks stay Chinese only.
    """
    glossary = _default_glossary() if glossary is None else glossary
    labels = dict(zh_labels)
    for key, row in glossary.items():
        if key in labels and row.get(lang):
            labels[key] = f"{labels[key]}{SEPARATOR}{_FSI}{row[lang]}{_PDI}"
    return labels
