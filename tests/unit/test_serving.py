"""Issue 16: a bounded server that keeps nothing a user sent — the middleware in front of Gradio (body limit,
login throttle, /ask call checks), the Evaluate tab's limits and private outputs, the question log's mode, the
question cut before any work, jieba's cache, the settings that bound a server. No model, no Gradio server: small
ASGI apps and fakes."""

from __future__ import annotations

import json
import os
import time

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from assistant.errors import SettingsError
from assistant.settings import Settings
from assistant.web import middleware
from assistant.web.evaluate_runs import Busy, Cancelled, EvalRuns, plain, remove_stale_outputs


# -- a stand-in for Gradio behind the middleware ----------------------------------------------------------------


def _app(*stack) -> tuple[TestClient, list]:
    seen = []

    async def echo(request: Request):
        body = await request.body()
        seen.append(body)
        return JSONResponse({"read": len(body)})

    async def login(request: Request):
        form = await request.form()
        if form.get("password") == "right":
            return JSONResponse({"success": True})
        return JSONResponse({"detail": "Incorrect credentials."}, status_code=400)

    routes = [Route(path, echo, methods=["POST"]) for path in
              ("/gradio_api/run/ask", "/gradio_api/call/ask", "/gradio_api/upload", "/other")]
    routes.append(Route("/login", login, methods=["POST"]))
    return TestClient(Starlette(routes=routes, middleware=list(stack))), seen


def test_a_body_over_the_limit_is_refused_before_it_is_read():
    """Item 3: a 20 MB question body was read and answered; bodies over the limit get 413 and a message."""
    client, seen = _app(Middleware(middleware.BodyLimit, limit=1024, upload_limit=4096))
    big = json.dumps({"data": ["谁" * 2000]})
    response = client.post("/gradio_api/run/ask", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "larger than this server accepts" in response.json()["error"]
    assert seen == []

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b"x" * 512

    assert client.post("/other", content=chunks()).status_code == 413
    assert client.post("/other", content=b"x" * 1000).json() == {"read": 1000}
    assert client.post("/gradio_api/upload", content=b"x" * 3000).json() == {"read": 3000}  # uploads: their limit
    assert client.post("/gradio_api/upload", content=b"x" * 5000).status_code == 413


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_failed_logins_are_rate_limited_per_address():
    """Item 10: 300 wrong passwords in 2.5 s were all tried; after LOGIN_FAILURES the address gets 429."""
    clock = FakeClock()
    client, _ = _app(Middleware(middleware.LoginThrottle, failures=5, window=60, clock=clock))
    codes = [client.post("/login", data={"username": "desk", "password": f"guess{i}"}).status_code for i in range(300)]
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}
    refused = client.post("/login", data={"username": "desk", "password": "right"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "Too many failed logins" in refused.json()["error"]
    clock.now += 61  # the window has passed
    assert client.post("/login", data={"username": "desk", "password": "right"}).status_code == 200


def test_a_successful_login_clears_the_count_and_other_addresses_are_not_affected():
    import asyncio
    import concurrent.futures

    clock = FakeClock()

    async def gradio_login(scope, receive, send):  # wrong unless the address ends in .1
        ok = scope["client"][0].endswith(".1")
        await send({"type": "http.response.start", "status": 200 if ok else 400, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    throttle = middleware.LoginThrottle(gradio_login, failures=3, window=60, clock=clock)

    def login(address: str) -> int:
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/login", "client": (address, 5000), "headers": []}
        # A thread of its own: another test (a browser or Gradio one) may have left an event loop set as
        # running in this thread, and asyncio.run refuses to start inside one.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, throttle(scope, receive, send)).result()
        return sent[0]["status"]

    assert [login("10.0.0.9") for _ in range(4)] == [400, 400, 400, 429]
    assert login("10.0.0.8") == 400  # another address counts on its own
    assert login("10.0.0.1") == 200
    throttle.failed["10.0.0.1"] = __import__("collections").deque([clock.now, clock.now])
    assert login("10.0.0.1") == 200 and "10.0.0.1" not in throttle.failed  # a success clears the count


def _check(question: str):
    return None if any(c.isalnum() for c in question) else "The question has no words to search for."


def test_malformed_api_calls_get_a_4xx_and_a_message():
    """Item 5: the API answered a call without a question with HTTP 500 (and no message)."""
    client, seen = _app(Middleware(middleware.ApiCallCheck, check=_check))
    for body in ({"data": []}, {"data": [None]}, {"data": ["   "]}, {"data": None}, {"nodata": 1},
                 {"data": ["谁管流浪狗", 5, "extra"]}, ["谁管流浪狗"]):
        for path in ("/gradio_api/run/ask", "/gradio_api/call/ask"):
            response = client.post(path, json=body)
            assert response.status_code == 400, (body, response.text)
            assert 'send {"data": ["谁管流浪狗"]}' in response.json()["error"]
    response = client.post("/gradio_api/run/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400 and "not JSON" in response.json()["error"]
    response = client.post("/gradio_api/run/ask", json={"data": ["？？？"]})
    assert response.status_code == 400 and response.json()["error"] == "The question has no words to search for."
    assert seen == []


def test_a_call_with_only_the_question_gets_the_default_k():
    client, seen = _app(Middleware(middleware.ApiCallCheck, check=_check, default_k=5))
    assert client.post("/gradio_api/run/ask", json={"data": ["谁管流浪狗"]}).status_code == 200
    assert json.loads(seen[-1])["data"] == ["谁管流浪狗", 5]
    assert client.post("/gradio_api/call/ask/", json={"data": ["谁管流浪狗", 3]}).status_code == 200
    assert json.loads(seen[-1])["data"] == ["谁管流浪狗", 3]
    assert client.post("/other", json={"data": []}).status_code == 200  # other routes are not its business


def test_each_api_call_gets_its_own_session_and_only_a_few_finished_ones_are_kept():
    """Item 2: every API call kept a Gradio session (~130 KB each, 10,000 kept); plain-HTTP /ask calls now run in
    `api-…` sessions of their own, of which only the newest finished ones are kept, so they neither grow memory
    nor push the people using the page out of the sessions kept."""
    import threading
    from collections import OrderedDict
    from types import SimpleNamespace

    client, seen = _app(Middleware(middleware.ApiCallCheck, check=_check))
    client.post("/gradio_api/run/ask", json={"data": ["谁管流浪狗", 5], "session_hash": "mine"})
    assert json.loads(seen[-1])["session_hash"].startswith(middleware.API_SESSION)

    sessions = OrderedDict((f"page-{i}", object()) for i in range(3))
    sessions.update((f"{middleware.API_SESSION}{i}", object()) for i in range(20))
    holder = SimpleNamespace(session_data=sessions, time_last_used={k: 0 for k in sessions}, lock=threading.Lock())
    queue = SimpleNamespace(pending_event_ids_session={f"{middleware.API_SESSION}0": {"event"}},
                            pending_messages_per_session={k: object() for k in sessions})
    app = SimpleNamespace(state_holder=holder, get_blocks=lambda: SimpleNamespace(_queue=queue))
    dropped = middleware.drop_finished_api_sessions(app, keep=16)
    assert dropped == [f"{middleware.API_SESSION}{i}" for i in range(1, 4)]  # the oldest finished ones
    assert f"{middleware.API_SESSION}0" in sessions  # still answering
    assert [k for k in sessions if k.startswith("page-")] == ["page-0", "page-1", "page-2"]
    assert not set(dropped) & set(queue.pending_messages_per_session) and not set(dropped) & set(holder.time_last_used)


def test_the_stack_puts_the_body_limit_first():
    stack = middleware.stack(max_body=1024, max_upload=4096, check_question=_check)
    assert [m.cls for m in stack] == [middleware.BodyLimit, middleware.LoginThrottle, middleware.ApiCallCheck]


# -- the settings that bound a server ---------------------------------------------------------------------------


def test_the_bounds_have_defaults_and_a_bad_value_names_its_variable():
    s = Settings.from_env({})
    assert (s.sessions, s.max_body_kb, s.concurrency, s.queue, s.eval_questions, s.eval_chars) == \
        (256, 1024, 4, 64, 1000, 60_000)
    s = Settings.from_env({"DUTY_ASSISTANT_SESSIONS": "32", "DUTY_ASSISTANT_EVAL_QUESTIONS": "0"})
    assert s.sessions == 32 and s.eval_questions == 0
    for name, value in (("DUTY_ASSISTANT_SESSIONS", "0"), ("DUTY_ASSISTANT_MAX_BODY_KB", "lots"),
                        ("DUTY_ASSISTANT_QUEUE", "-1")):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})


# -- Evaluate: limits, one run at a time, cancel, private outputs --------------------------------------------------


class Q:
    def __init__(self, text):
        self.question = text


def test_evaluate_refuses_too_many_questions_and_too_many_characters():
    """Item 3: 2,000 questions of 1,000 characters (~33 CPU-minutes) were accepted."""
    runs = EvalRuns(max_questions=3, max_chars=100)
    assert runs.refusal([Q("谁管流浪狗")] * 3) is None
    assert "Too many questions (4); at most 3" in runs.refusal([Q("x")] * 4)
    assert "110 characters in all, at most 100" in runs.refusal([Q("x" * 55)] * 2)
    closed = EvalRuns(3, 100, allowed=False, why_not="Evaluate needs a login")
    assert closed.refusal([Q("x")]) == "Evaluate needs a login" and not closed.allowed
    assert not EvalRuns(0, 100).allowed and "turned off" in EvalRuns(0, 100).refusal([Q("x")])


def test_one_run_at_a_time_and_only_its_owner_cancels_it():
    runs = EvalRuns(10, 1000)
    with runs.start("session-a") as run:
        with pytest.raises(Busy):
            with runs.start("session-b"):
                pass
        assert not runs.cancel("session-b")  # someone else's run
        questions = runs.cancellable([Q("a"), Q("b"), Q("c")], run)
        asked = []
        with pytest.raises(Cancelled):
            for q in questions:
                asked.append(q.question)
                if q.question == "a":
                    assert runs.cancel("session-a")
    assert asked == ["a"]
    with runs.start("session-b"):  # free again
        pass


def test_evaluate_outputs_are_private_and_removed(tmp_path, monkeypatch):
    """Item 4: reports with the failed questions' text stayed in /tmp/duty-eval-* forever, readable by others."""
    from assistant.web import evaluate_runs

    monkeypatch.setattr(evaluate_runs, "OUTPUT_SECONDS", 0.2)
    folder = EvalRuns.output_folder(tmp_path)
    (folder / "report.md").write_text("failed: 我家的狗咬人了", encoding="utf-8")
    EvalRuns.seal(folder)
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "report.md").stat().st_mode & 0o777 == 0o600
    deadline = time.monotonic() + 10
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not folder.exists()


def test_folders_left_by_a_killed_server_go_at_the_next_run(tmp_path):
    old = tmp_path / "duty-eval-killed"
    old.mkdir()
    (old / "run.jsonl").write_text("{}", encoding="utf-8")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    fresh = tmp_path / "duty-eval-running"
    fresh.mkdir()
    assert remove_stale_outputs(tmp_path) == [old]
    assert not old.exists() and fresh.exists()


def test_user_text_in_the_evaluate_status_is_inert():
    """Item 6: a duty id `<img src=x onerror=…>` was rendered as a live image tag in the status line."""
    shown = plain("unknown duty id '<img src=x onerror=alert(1)>' in [x](javascript:alert(2))")
    assert "<img" not in shown and "&lt;img src=x onerror=alert\\(1\\)&gt;" in shown
    assert "](" not in shown


# -- the question log, the question cut, jieba's cache ----------------------------------------------------------------


def test_the_question_log_is_private(tmp_path):
    """Item 4: the --log-questions file was created world-readable (0644)."""
    from assistant.web.question_log import QuestionLog

    log = QuestionLog(tmp_path / "questions.jsonl")
    log.write("谁管流浪狗", None)
    assert (tmp_path / "questions.jsonl").stat().st_mode & 0o777 == 0o600
    shared = tmp_path / "shared.jsonl"
    shared.write_text("", encoding="utf-8")
    shared.chmod(0o644)
    QuestionLog(shared)
    assert shared.stat().st_mode & 0o777 == 0o600


def test_a_question_log_that_cannot_be_written_is_a_settings_error(tmp_path):
    """Item 5: `serve --log-questions` into a folder that cannot exist printed a traceback (after the model
    loaded); it is now a SettingsError naming the file, raised before anything loads."""
    from assistant.web.question_log import QuestionLog

    (tmp_path / "a-file").write_text("", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"cannot write the question log .*a-file/q.jsonl.*--log-questions"):
        QuestionLog(tmp_path / "a-file" / "q.jsonl")


def test_a_huge_question_is_cut_before_any_work_on_it(monkeypatch):
    """Item 3: a question is cut to a few times max_chars before normalising it (a 20 MB body was processed
    whole); the answer still says it was cut."""
    from assistant.search import query

    seen = []
    real = query.unicodedata.normalize
    monkeypatch.setattr(query.unicodedata, "normalize", lambda form, text: seen.append(len(text)) or real(form, text))
    text, truncated = query.clean("谁管流浪狗" * 2_000_000, 1000)
    assert truncated and len(text) == 1000
    assert seen == [query.RAW_CUT * 1000]
    assert query.clean("谁管流浪狗", 1000) == ("谁管流浪狗", False)


def test_jieba_keeps_its_cache_in_the_projects_cache_folder(tmp_path, monkeypatch):
    """Item 4: jieba wrote its dictionary cache to a fixed shared path in /tmp (and read it back from there)."""
    from assistant import settings as settings_module
    from assistant.search import segment

    import jieba

    before = jieba.dt.tmp_dir
    monkeypatch.setattr(settings_module, "current", lambda: Settings(cache=tmp_path))
    monkeypatch.setattr(segment, "_ready", False)
    try:
        assert segment.segmenter().dt.tmp_dir == str(tmp_path / "jieba")
        assert (tmp_path / "jieba").stat().st_mode & 0o777 == 0o700
    finally:
        jieba.dt.tmp_dir = before


def test_the_server_tunes_the_allocator_once():
    """Item 2: malloc arenas of Gradio's many worker threads kept what they freed (part of the soak's growth)."""
    import threading

    from assistant.web import allocator

    assert allocator.tune(every=3600) is True  # glibc here
    assert allocator.tune(every=3600) is True
    assert [t.name for t in threading.enumerate()].count("malloc-trim") == 1
