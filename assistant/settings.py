"""Settings: every path and `DUTY_ASSISTANT_*` variable, read once into one frozen object.

    from assistant.settings import current
    settings = current()                  # read from the environment on first use, then the same object
    settings.duties                       # data/duties.jsonl of this checkout
    Settings.from_env({"DUTY_ASSISTANT_CACHE": "/tmp/c"})   # another one, e.g. in a test

| variable | meaning | default |
|---|---|---|
| DUTY_ASSISTANT_ROOT | the project folder (data/, index/, eval/) | this checkout |
| DUTY_ASSISTANT_CACHE | model weights, transport wheels, embeddings (outside the clone) | ~/.cache/duty-assistant |
| DUTY_ASSISTANT_MODEL | registry name or model folder | embeddinggemma-300m |
| DUTY_ASSISTANT_BACKEND | auto, onnx or torch | auto |
| DUTY_ASSISTANT_QUESTION_MEMO | how many recent question vectors a process remembers (0 = off) | 4096 |
| DUTY_ASSISTANT_AUTH | web login, `user:password[,user2:password2]` | none |
| DUTY_ASSISTANT_ROUTE_MODEL | model for questions the default model cannot read (Uyghur, Kazakh); `off` = none | e5-small |
| DUTY_ASSISTANT_STATE | feedback database and pending list updates (outside the clone) | ~/.local/state/duty-assistant |
| DUTY_ASSISTANT_KEEP | which questions are kept: `off`, `feedback` (marked ones and those not answered), `all` | feedback |
| DUTY_ASSISTANT_RETENTION_DAYS | kept questions older than this are deleted (0 = never) | 90 |
| DUTY_ASSISTANT_REVIEW_AUTH | logins of the Review desk, `user:password[,…]` (the desk is locked without one) | none |
| DUTY_ASSISTANT_SESSIONS | page sessions kept in memory (~130 KB each; the least recently used goes beyond this) | 256 |
| DUTY_ASSISTANT_MAX_BODY_KB | largest request body the server reads, in KB (uploads: 5 MB) | 1024 |
| DUTY_ASSISTANT_CONCURRENCY | questions the server answers at once (CPU); the rest wait in its queue | 4 |
| DUTY_ASSISTANT_QUEUE | requests that may wait in the server's queue; more are refused at once | 64 |
| DUTY_ASSISTANT_EVAL_QUESTIONS | most questions in one Evaluate upload (0 turns Evaluate off) | 1000 |
| DUTY_ASSISTANT_EVAL_CHARS | most characters (all questions together) in one Evaluate upload | 60000 |

Nothing here writes to `os.environ`; the few variables other libraries read (offline model hub, no
analytics) are set where those libraries are loaded.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

from assistant.errors import SettingsError

BACKENDS = ("auto", "onnx", "torch")
KEEP_CHOICES = ("off", "feedback", "all")
_DEFAULT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    root: Path = _DEFAULT_ROOT
    cache: Path = Path.home() / ".cache" / "duty-assistant"
    model: str | None = None  # None: the registry's default
    backend: str = "auto"
    question_memo: int = 4096
    auth: str | None = None
    state: Path = Path.home() / ".local" / "state" / "duty-assistant"
    keep: str = "feedback"
    retention_days: int = 90
    # questions in Uyghur or Kazakh go to this model's own index (assistant/search/route.py); None: no route
    route_model: str | None = "e5-small"
    review_auth: str | None = None
    # what bounds a server's memory and CPU (README, "Serving beyond one PC")
    sessions: int = 256
    max_body_kb: int = 1024
    concurrency: int = 4
    queue: int = 64
    eval_questions: int = 1000
    eval_chars: int = 60_000

    # -- where things live --------------------------------------------------------------------------------

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def source_dir(self) -> Path:
        return self.data / "source"

    @property
    def default_source(self) -> Path:
        """The current list: the file data/source/CURRENT names (written by `list update --apply`), else the 2025 list."""
        pointer = self.source_dir / "CURRENT"
        if pointer.exists():
            name = pointer.read_text(encoding="utf-8").strip()
            if name:
                return self.source_dir / name
        return self.source_dir / "banjiegou-2025.txt"

    @property
    def duties(self) -> Path:
        return self.data / "duties.jsonl"

    @property
    def departments(self) -> Path:
        return self.data / "departments.jsonl"

    @property
    def department_aliases(self) -> Path:
        return self.data / "department_aliases.json"

    @property
    def similar_questions(self) -> Path:
        return self.data / "similar_questions.jsonl"

    @property
    def outside_questions(self) -> Path:
        """Questions about matters the list does not hold (see OutsideQuestion); encoded into the index."""
        return self.data / "outside_questions.jsonl"

    @property
    def lexicon(self) -> Path:
        return self.data / "lexicon.tsv"

    @property
    def question_cues(self) -> Path:
        return self.data / "question_cues.json"

    @property
    def calibration(self) -> Path:
        return self.data / "calibration.json"

    @property
    def question_kind(self) -> Path:
        """The learnt reading of a question's kind (assistant/search/question_kind.py), written by calibrate."""
        return self.data / "question_kind.json"

    @property
    def out_of_scope(self) -> Path:
        """Questions the list does not cover, recorded by the Review desk (a question file; calibrate reads it)."""
        return self.data / "out_of_scope.jsonl"

    @property
    def similar_orphans(self) -> Path:
        """Similar questions whose duty disappeared in a list update, waiting for a person to decide."""
        return self.data / "similar_orphans.jsonl"

    @property
    def audit(self) -> Path:
        """One line per change the Review desk, `similar import` or `list update` made to data/ (who, when, what)."""
        return self.data / "audit.jsonl"

    @property
    def feedback_db(self) -> Path:
        return self.state / "feedback.sqlite3"

    @property
    def updates(self) -> Path:
        """Change reports of `duty-assistant list update` (Markdown and JSON), also shown in the Review desk."""
        return self.state / "updates"

    @property
    def glossary(self) -> Path:
        """Uyghur and Kazakh versions of the fixed labels (assistant/glossary.py)."""
        return self.data / "glossary.tsv"

    @property
    def route_lexicon(self) -> Path:
        """Uyghur and Kazakh words → the list's words, for routed questions (assistant/search/route.py)."""
        return self.data / "lexicon_ug_kk.tsv"

    def calibration_for(self, model_id: str) -> Path:
        """The confidence models fitted for the route model (the default model's are in `calibration`)."""
        return self.data / f"calibration-{model_id}.json"

    @property
    def index(self) -> Path:
        return self.root / "index"

    @property
    def eval(self) -> Path:
        return self.root / "eval"

    @property
    def models(self) -> Path:
        return self.cache / "models"

    # -- reading ------------------------------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read the `DUTY_ASSISTANT_*` variables; a bad value is a SettingsError naming the variable."""
        env = os.environ if environ is None else environ
        memo_text = env.get("DUTY_ASSISTANT_QUESTION_MEMO", "4096")
        try:
            memo = max(0, int(memo_text))
        except ValueError:
            raise SettingsError(f"DUTY_ASSISTANT_QUESTION_MEMO must be a whole number (0 turns the memo off), "
                                f"got {memo_text!r}") from None
        backend = env.get("DUTY_ASSISTANT_BACKEND") or "auto"
        if backend not in BACKENDS:
            raise SettingsError(f"DUTY_ASSISTANT_BACKEND={backend!r} is not a backend. Choose from {', '.join(BACKENDS)}.")
        keep = (env.get("DUTY_ASSISTANT_KEEP") or "feedback").strip().lower()
        if keep not in KEEP_CHOICES:
            raise SettingsError(f"DUTY_ASSISTANT_KEEP={keep!r} is not a choice. Choose from {', '.join(KEEP_CHOICES)}.")
        retention_text = env.get("DUTY_ASSISTANT_RETENTION_DAYS", "90")
        try:
            retention = int(retention_text)
            if retention < 0:
                raise ValueError
        except ValueError:
            raise SettingsError(f"DUTY_ASSISTANT_RETENTION_DAYS must be a whole number of days (0 = keep forever), "
                                f"got {retention_text!r}") from None
        state_home = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
        bounds = {field: _whole(env, f"DUTY_ASSISTANT_{field.upper()}", default, minimum)
                  for field, default, minimum in _BOUNDS}
        return cls(
            root=Path(env.get("DUTY_ASSISTANT_ROOT") or _DEFAULT_ROOT),
            cache=Path(env.get("DUTY_ASSISTANT_CACHE") or Path.home() / ".cache" / "duty-assistant"),
            model=env.get("DUTY_ASSISTANT_MODEL") or None,
            backend=backend,
            question_memo=memo,
            auth=env.get("DUTY_ASSISTANT_AUTH") or None,
            state=Path(env.get("DUTY_ASSISTANT_STATE") or state_home / "duty-assistant"),
            keep=keep,
            retention_days=retention,
            review_auth=env.get("DUTY_ASSISTANT_REVIEW_AUTH") or None,
            route_model=_route_model(env.get("DUTY_ASSISTANT_ROUTE_MODEL")),
            **bounds,
        )

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


def _route_model(value: str | None) -> str | None:
    """DUTY_ASSISTANT_ROUTE_MODEL: unset → e5-small; off, none, 0 or empty → no route; else a model name or folder."""
    if value is None:
        return Settings.route_model
    value = value.strip()
    return None if value.lower() in ("", "off", "none", "0", "false") else value


# (field, default, smallest allowed) of the whole-number bounds, each read from DUTY_ASSISTANT_<FIELD>
_BOUNDS = (("sessions", 256, 1), ("max_body_kb", 1024, 16), ("concurrency", 4, 1), ("queue", 64, 1),
           ("eval_questions", 1000, 0), ("eval_chars", 60_000, 0))


def _whole(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise SettingsError(f"{name} must be a whole number of at least {minimum} (default {default}), got {text!r}")
    return value


@functools.cache
def current() -> Settings:
    """This process's settings, read from the environment once."""
    return Settings.from_env()
