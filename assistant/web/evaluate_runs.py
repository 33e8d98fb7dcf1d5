"""The Evaluate tab's runs, bounded and leaving nothing behind.

- Bounded: an upload may hold at most `max_questions` questions and `max_chars` characters in all (one run of
  2,000 questions of 1,000 characters cost ~33 CPU-minutes); one run at a time (a second is told to try again,
  not queued); the user who started a run can cancel it (checked between questions).
- Only with a login beyond this PC: a server reachable from other machines without a login offers no Evaluate.
- Nothing a user sent lingers: each run writes its report, chart and run file (which hold the failed questions'
  text) into its own private temporary folder (0700, files 0600), removed OUTPUT_SECONDS after the run (Gradio
  has copied them into its cache by then, which the app empties within the hour); folders left by a killed
  server are removed by the next run.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

OUTPUT_PREFIX = "duty-eval-"
OUTPUT_SECONDS = 300  # a run's own folder is removed this long after the run
STALE_SECONDS = 3600  # folders of runs older than this (a killed server's) are removed by the next run


class Cancelled(Exception):
    """The run was cancelled by the user who started it."""


class Busy(Exception):
    """Another run is in progress."""


@dataclass
class Run:
    owner: str  # the Gradio session that started it
    cancel: threading.Event = field(default_factory=threading.Event)


def plain(text: str) -> str:
    """User-supplied text (a file name, a duty id from an upload) for a Markdown status line: shown as text, never
    as markup or HTML (`<img src=x onerror=…>` stays visible, inert)."""
    escaped = html.escape(str(text), quote=True)
    return re.sub(r"([\\`*_{}\[\]()#+\-!|~>])", r"\\\1", escaped)


class EvalRuns:
    """The Evaluate tab's limits and its one run at a time.

    Args:
        max_questions: questions in one upload at most (0: Evaluate is off).
        max_chars: characters of all its questions together at most.
        allowed: False on a server reachable beyond this PC without a login (`why_not` says so).
    """

    def __init__(self, max_questions: int, max_chars: int, allowed: bool = True, why_not: str = ""):
        self.max_questions, self.max_chars = max_questions, max_chars
        self.allowed = allowed and max_questions > 0
        self.why_not = why_not if not allowed else (
            "评测已关闭。 · Evaluate is turned off on this server (DUTY_ASSISTANT_EVAL_QUESTIONS=0)."
            if max_questions <= 0 else "")
        self._lock = threading.Lock()
        self.current: Run | None = None

    @classmethod
    def from_settings(cls, settings, allowed: bool = True, why_not: str = "") -> "EvalRuns":
        return cls(settings.eval_questions, settings.eval_chars, allowed, why_not)

    def limits_text(self) -> str:
        return (f"每次最多 {self.max_questions} 个问题、共 {self.max_chars} 个字符；同一时间只运行一个评测。 · "
                f"At most {self.max_questions} questions and {self.max_chars} characters in all per upload; "
                "one evaluation runs at a time.")

    def refusal(self, questions) -> str | None:
        """Why these questions are not run (too many, too long), or None."""
        if not self.allowed:
            return self.why_not
        if len(questions) > self.max_questions:
            return (f"问题太多（{len(questions)}）；最多 {self.max_questions} 个。 · "
                    f"Too many questions ({len(questions)}); at most {self.max_questions}.")
        chars = sum(len(q.question) for q in questions)
        if chars > self.max_chars:
            return (f"问题太长：共 {chars} 个字符，最多 {self.max_chars} 个。 · "
                    f"The questions are too long: {chars} characters in all, at most {self.max_chars}.")
        return None

    @contextlib.contextmanager
    def start(self, owner: str):
        """The run, while it runs; Busy when another one is running."""
        if not self._lock.acquire(blocking=False):
            raise Busy()
        self.current = Run(owner or "")
        try:
            yield self.current
        finally:
            self.current = None
            self._lock.release()

    def cancel(self, owner: str) -> bool:
        """Cancel the running run if `owner` started it; True when there was one to cancel."""
        run = self.current
        if run is None or run.owner != (owner or ""):
            return False
        run.cancel.set()
        return True

    @staticmethod
    def cancellable(questions: list, run: Run):
        """The questions, one by one, stopping with Cancelled as soon as the run is cancelled."""

        class Questions(list):
            def __iter__(self):
                for question in list.__iter__(self):
                    if run.cancel.is_set():
                        raise Cancelled()
                    yield question

        return Questions(questions)

    # -- the outputs ----------------------------------------------------------------------------------

    @staticmethod
    def output_folder(base: Path | None = None) -> Path:
        """A new private folder for one run's outputs, removed OUTPUT_SECONDS from now; older ones left by a
        killed server are removed first."""
        base = Path(base or tempfile.gettempdir())
        remove_stale_outputs(base)
        folder = Path(tempfile.mkdtemp(prefix=OUTPUT_PREFIX, dir=base))  # 0700
        timer = threading.Timer(OUTPUT_SECONDS, shutil.rmtree, args=(folder,), kwargs={"ignore_errors": True})
        timer.daemon = True
        timer.start()
        return folder

    @staticmethod
    def seal(folder: Path) -> None:
        """Make every file of a run's folder private (0600): they hold the uploaded questions' text."""
        for path in Path(folder).iterdir():
            if path.is_file():
                os.chmod(path, 0o600)


def remove_stale_outputs(base: Path, age: float = STALE_SECONDS) -> list[Path]:
    """Remove this user's Evaluate output folders older than `age` seconds from `base`; returns them."""
    removed = []
    for folder in Path(base).glob(f"{OUTPUT_PREFIX}*"):
        try:
            st = folder.stat()
        except OSError:
            continue
        if folder.is_dir() and not folder.is_symlink() and st.st_uid == os.getuid() and time.time() - st.st_mtime > age:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
