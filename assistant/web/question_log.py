"""The question log: off unless `serve --log-questions FILE` is given."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path

from assistant.answer import Answer

from assistant.state.mask import mask_personal
from assistant.errors import SettingsError

class QuestionLog:
    """Appends {time, question, answered, top} as JSON lines; never a user name or password.

    Args:
        path: the JSON Lines file (its folder is created); every session of the server appends to it.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, question: str, answer: Answer | None) -> None:
        """One line for one question; `answer` is None when the question could not be searched."""
        row = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "question": mask_personal(question),  # ID and mobile numbers never reach the disk
            "answered": bool(answer and answer.answered),
            "top": answer.cards[0].id if answer and answer.cards else None,
        }
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
