"""The question log: off unless `serve --log-questions FILE` is given."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

from assistant.answer import Answer
from assistant.state.mask import mask_personal
from assistant.errors import SettingsError


class QuestionLog:
    """Appends {time, question, answered, top} as JSON lines; never a user name or password.

    Args:
        path: the JSON Lines file, opened at once (so a bad path is said before the model loads), created
            private (0600: it holds what people asked); a missing folder is created (0700). Every session of
            the server appends to it.
    Raises:
        SettingsError naming the file when it cannot be created or written.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as err:
            raise SettingsError(f"cannot write the question log {self.path} ({err.strerror or err}); give "
                                "--log-questions a file in a folder you may write to") from None
        if os.fstat(fd).st_mode & 0o077:  # an existing file others may read: it is about to hold questions
            os.fchmod(fd, 0o600)
        os.close(fd)
        self._lock = threading.Lock()

    def write(self, question: str, answer: Answer | None) -> None:
        """One line for one question; `answer` is None when the question could not be searched."""
        row = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "question": mask_personal(question),  # ID and mobile numbers never reach the disk
            "answered": bool(answer and answer.answered),
            "top": answer.cards[0].id if answer and answer.cards else None,
        }
        line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:  # created 0600 again if someone removed it meanwhile
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
