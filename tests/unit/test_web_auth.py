"""The web app's logins (DUTY_ASSISTANT_AUTH, --auth-file) and its question log: no server, no model."""

from __future__ import annotations

import json

import pytest

from assistant.answer import Answer
from assistant.errors import DutyAssistantError
from assistant.render.html import duty_card
from assistant.web.auth import load_auth
from assistant.web.question_log import QuestionLog


def test_auth_from_environment_and_file(tmp_path):
    assert load_auth(None, None) is None and load_auth("  ", None) is None
    assert load_auth("desk:pw1, admin:a:b", None) == [("desk", "pw1"), ("admin", "a:b")]
    users = tmp_path / "users"
    users.write_text("# front desk\ndesk:pw1\n\nboss:pw2\n", encoding="utf-8")
    assert load_auth(None, str(users)) == [("desk", "pw1"), ("boss", "pw2")]
    assert load_auth("x:y", str(users))[0] == ("x", "y")
    users.write_text("desk:pw1\nsecretpassword\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load_auth(None, str(users))
    assert "entry 2" in str(err.value) and "secretpassword" not in str(err.value)
    with pytest.raises(ValueError):
        load_auth(None, str(tmp_path / "missing"))
    with pytest.raises(ValueError):
        load_auth("nocolon", None)
    with pytest.raises(DutyAssistantError):  # a user's error: `serve` says it in one line, no traceback
        load_auth("nocolon", None)


def test_question_log_appends_json_lines(tmp_path, by_id, registry):
    log = QuestionLog(tmp_path / "logs" / "q.jsonl")
    card = duty_card(by_id["coop-19"], registry)
    log.write("谁管流浪狗", Answer("谁管流浪狗", "zh", "answer", "答复依据：", "", [card]))
    log.write("", None)
    rows = [json.loads(line) for line in (tmp_path / "logs" / "q.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [set(r) for r in rows] == [{"time", "question", "answered", "top"}] * 2
    assert rows[0]["question"] == "谁管流浪狗" and rows[0]["answered"] is True and rows[0]["top"] == "coop-19"
    assert rows[1]["answered"] is False and rows[1]["top"] is None
