"""Where things live: the project's data, the built index, and the cache outside the clone."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("DUTY_ASSISTANT_ROOT", Path(__file__).resolve().parent.parent))
DATA = ROOT / "data"
SOURCE_DIR = DATA / "source"
DEFAULT_SOURCE = SOURCE_DIR / "banjiegou-2025.txt"
DUTIES = DATA / "duties.jsonl"
DEPARTMENTS = DATA / "departments.jsonl"
DEPARTMENT_ALIASES = DATA / "department_aliases.json"
SIMILAR_QUESTIONS = DATA / "similar_questions.jsonl"
LEXICON = DATA / "lexicon.tsv"
QUESTION_CUES = DATA / "question_cues.json"
INDEX = ROOT / "index"
EVAL = ROOT / "eval"

# Big downloads (model weights, transport wheels) live outside the clone so CI and later sessions reuse them.
CACHE = Path(os.environ.get("DUTY_ASSISTANT_CACHE", Path.home() / ".cache" / "duty-assistant"))
