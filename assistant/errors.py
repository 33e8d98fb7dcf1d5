"""Every error a user can cause, under one base class the CLI and the web app catch.

A `DutyAssistantError` carries a message that says what happened and what to do next, and the exit
status the CLI returns for it. Anything else that escapes is a bug: the CLI prints its traceback and says so.
"""

from __future__ import annotations


class DutyAssistantError(Exception):
    """Base of all user-facing errors; `str(err)` is the one line shown, `exit_status` the CLI's status."""

    exit_status = 2


class SettingsError(DutyAssistantError, ValueError):
    """A `DUTY_ASSISTANT_*` variable, a config file or a command-line value is wrong."""


class QuestionError(DutyAssistantError, ValueError):
    """The question cannot be searched (empty, or nothing but punctuation); the message says what to type."""


class ParseError(DutyAssistantError, ValueError):
    """The source document does not have the expected shape. str() reads `file:line: reason`."""

    def __init__(self, source: str, line: int, reason: str):
        self.source, self.line, self.reason = source, line, reason
        super().__init__(f"{source}:{line}: {reason}")


class DataError(DutyAssistantError, RuntimeError):
    """A data file under data/ is missing or damaged; the message names the command that fixes it."""


class JsonLinesError(DutyAssistantError, ValueError):
    """A line of a JSON Lines file is not a JSON object (or the file is not UTF-8 text)."""

    def __init__(self, path, line: int, reason: str):
        self.path, self.line, self.reason = path, line, reason
        super().__init__(f"{path}:{line}: {reason}")


class ModelError(DutyAssistantError, RuntimeError):
    """A model is missing, incomplete or fails verification; the message says what to run."""


class IndexProblem(DutyAssistantError, RuntimeError):
    """The index is missing, stale or damaged; the message says which and the command that fixes it."""


class EvalError(DutyAssistantError, ValueError):
    """A question or run file for the evaluator is malformed: file, line and reason."""


class NotFound(DutyAssistantError, KeyError, ValueError):
    """An unknown duty id, county body, list or category; the message lists what exists. (A KeyError for a
    lookup, and a ValueError for a value a user typed, as callers before errors.py caught either.)"""

    def __str__(self) -> str:  # KeyError quotes its argument; the message is meant to be read as is
        return str(self.args[0]) if self.args else ""


class StateError(DutyAssistantError, RuntimeError):
    """The state folder (DUTY_ASSISTANT_STATE: feedback database, pending updates) cannot be used; says why."""


class FeedbackError(DutyAssistantError, ValueError):
    """A feedback mark cannot be recorded (unknown answer, unknown mark or duty); the message says what to send."""


class ReviewError(DutyAssistantError, ValueError):
    """A Review desk action cannot be carried out (unknown item, a duty or word that does not exist, no login)."""


class ImportRowError(DutyAssistantError, ValueError):
    """Rows of a similar-questions file to import are wrong; str() lists `file:row: reason` for each."""

    def __init__(self, path, problems: list[tuple[int, str]]):
        self.path, self.problems = path, problems
        shown = "; ".join(f"{path}:{row}: {reason}" for row, reason in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} row(s) cannot be imported, nothing was changed: {shown}{more}")


class UpdateError(DutyAssistantError, RuntimeError):
    """A list update cannot go ahead (no pending update, the data changed since it was prepared …)."""
