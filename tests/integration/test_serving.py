"""Issue 16 with the real app: the Evaluate tab's limits, escaping and private outputs (its handler called
directly), `serve` bounded (the arguments it gives Gradio), the command line's one-line errors, and a live
server with a login: malformed API calls get a 4xx, big bodies a 413, repeated wrong logins a 429, and the page
names the backend."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import live_server

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def one_error_line(result: subprocess.CompletedProcess, command: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout[-1000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"duty-assistant {command}: error: "), result.stderr
    return lines[0]


# -- the command line: one line, the fix, the right exit status (item 5) -------------------------------------


def test_ask_with_no_question_and_empty_stdin_says_how_to_ask():
    """It printed nothing and exited 0."""
    line = one_error_line(cli("ask", stdin=""), "ask")
    assert "no question given" in line and 'duty-assistant ask "谁管流浪狗"' in line


def test_serve_refuses_a_port_out_of_range_before_loading_anything():
    """It loaded the model, then printed an OverflowError traceback and exit status 70."""
    result = cli("serve", "--port", "99999")
    line = one_error_line(result, "serve")
    assert "--port 99999 is not a port number" in line and "1 to 65535" in line
    assert "Loading model" not in result.stdout


def test_serve_refuses_a_question_log_it_cannot_write(tmp_path):
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    result = cli("serve", "--port", str(live_server.free_port()), "--log-questions", str(tmp_path / "a-file" / "q.jsonl"))
    line = one_error_line(result, "serve")
    assert "a-file/q.jsonl" in line and "--log-questions" in line
    assert "Loading model" not in result.stdout


@pytest.mark.parametrize("content, says", [("[1, 2]", "must hold a JSON object"), ('{"k": "x"}', "k must be a number"),
                                           (None, "is a folder")], ids=["a JSON list", "a wrong type", "a folder"])
def test_a_bad_config_is_one_line_before_anything_loads(tmp_path, content, says):
    config = tmp_path / "config.json"
    if content is None:
        config.mkdir()
    else:
        config.write_text(content, encoding="utf-8")
    line = one_error_line(cli("ask", "谁管流浪狗", "--config", str(config)), "ask")
    assert says in line


# -- the Evaluate tab's handler (items 3, 4, 6) ---------------------------------------------------------------


def _handlers(app) -> dict:
    return {getattr(f.fn, "__name__", ""): f.fn for f in app.fns.values() if f.fn is not None}


@pytest.fixture(scope="module")
def bounded(assistant):
    """The app with small Evaluate limits: 3 questions, 60 characters."""
    from assistant.web.app import build_app
    from assistant.web.evaluate_runs import EvalRuns

    return _handlers(build_app(assistant, runs=EvalRuns(3, 60)))


def _questions(tmp_path, rows) -> str:
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.mark.model
def test_evaluate_refuses_an_upload_over_its_limits(bounded, tmp_path):
    four = [{"id": f"q{i}", "question": "谁管流浪狗", "relevant": ["coop-19"]} for i in range(4)]
    status = bounded["evaluate"](_questions(tmp_path, four))[0]
    assert "Too many questions (4); at most 3" in status
    long = [{"id": f"q{i}", "question": "谁管流浪狗" * 7, "relevant": ["coop-19"]} for i in range(2)]
    status = bounded["evaluate"](_questions(tmp_path, long))[0]
    assert "70 characters in all, at most 60" in status


@pytest.mark.model
def test_evaluate_shows_an_uploaded_duty_id_as_text(bounded, tmp_path):
    """Item 6: an unknown duty id `<img src=x onerror=…>` became a live image tag in the status line."""
    rows = [{"id": "q1", "question": "谁管流浪狗", "relevant": ["<img src=x onerror=alert(1)>"]}]
    status = bounded["evaluate"](_questions(tmp_path, rows))[0]
    assert "<img" not in status and "&lt;img src=x onerror=alert\\(1\\)&gt;" in status


@pytest.mark.model
def test_evaluate_outputs_are_private(bounded, tmp_path):
    """Item 4: the report (with the failed questions' text) and the run file were left readable by all."""
    rows = [{"id": "q1", "question": "谁管流浪狗", "relevant": ["coop-19"]},
            {"id": "q2", "question": "今天天气怎么样", "relevant": []}]
    out = bounded["evaluate"](_questions(tmp_path, rows))
    assert out[0].startswith("✓")
    files = [Path(p) for p in out[-1]["value"]] if isinstance(out[-1], dict) else [Path(p) for p in out[-1]]
    for file in files:
        assert file.parent.name.startswith("duty-eval-") and file.parent.stat().st_mode & 0o777 == 0o700
        assert file.stat().st_mode & 0o777 == 0o600
    shutil.rmtree(files[0].parent)  # the server would remove it minutes after the run; this process ends first


@pytest.mark.model
def test_evaluate_is_off_beyond_this_pc_without_a_login(assistant, tmp_path):
    from assistant.web.app import EVAL_NEEDS_LOGIN, build_app
    from assistant.web.evaluate_runs import EvalRuns

    handlers = _handlers(build_app(assistant, runs=EvalRuns(3, 60, allowed=False, why_not=EVAL_NEEDS_LOGIN)))
    rows = [{"id": "q1", "question": "谁管流浪狗", "relevant": ["coop-19"]}]
    assert "Evaluate needs a login" in handlers["evaluate"](_questions(tmp_path, rows))[0]


# -- serve: the bounds it gives Gradio (item 2, 3) --------------------------------------------------------------


class Launched(Exception):
    pass


@pytest.mark.model
@pytest.mark.parametrize("host, auth, evaluate", [("127.0.0.1", None, True), ("0.0.0.0", None, False),
                                                  ("0.0.0.0", "desk:pw", True)])
def test_serve_bounds_sessions_bodies_and_evaluate(assistant, monkeypatch, host, auth, evaluate):
    """Memory grew ~110 KB per API call (a Gradio session each, 10,000 kept): the sessions kept, the request
    bodies, the queue and who may run Evaluate now come from the settings and the login."""
    import gradio

    from assistant import api
    from assistant.cli import build_parser
    from assistant.settings import Settings
    from assistant.web import app, middleware

    settings = Settings.from_env({"DUTY_ASSISTANT_SESSIONS": "32", "DUTY_ASSISTANT_MAX_BODY_KB": "64",
                                  "DUTY_ASSISTANT_QUEUE": "9", "DUTY_ASSISTANT_CONCURRENCY": "3",
                                  **({"DUTY_ASSISTANT_AUTH": auth} if auth else {})})
    monkeypatch.setattr(app, "current", lambda: settings)
    monkeypatch.setattr(api.Assistant, "open", classmethod(lambda cls, **kwargs: assistant))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(Path.cwd()))  # not created by serve
    seen = {}

    def launch(self, **kwargs):
        seen.update(kwargs, queue=(self._queue.default_concurrency_limit, self._queue.max_size), blocks=self)
        raise Launched()

    monkeypatch.setattr(gradio.Blocks, "launch", launch)
    args = build_parser().parse_args(["serve", "--host", host, "--port", str(live_server.free_port())])
    with pytest.raises(Launched):
        app.serve(args)
    assert seen["state_session_capacity"] == 32
    assert seen["queue"] == (3, 9)
    stack = seen["app_kwargs"]["middleware"]
    assert [m.cls for m in stack] == [middleware.BodyLimit, middleware.LoginThrottle, middleware.ApiCallCheck]
    assert stack[0].kwargs["limit"] == 64 * 1024
    check = stack[2].kwargs["check"]
    assert check("谁管流浪狗") is None and "no words to search for" in check("？？？")
    handlers = _handlers(seen["blocks"])
    status = handlers["evaluate"](None)[0]
    assert ("Evaluate needs a login" in status) != evaluate


# -- a live server with a login -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("bounded-server")
    users = base / "users"
    password = "pw-" + uuid.uuid4().hex
    users.write_text(f"desk:{password}\n", encoding="utf-8")
    try:
        live = live_server.start(["--auth-file", str(users)], log=base / "server.log", cwd=base,
                                 env={"DUTY_ASSISTANT_MAX_BODY_KB": "64", "DUTY_ASSISTANT_SESSIONS": "16"})
    except live_server.ServerError as err:
        pytest.fail(str(err))
    with live:
        yield SimpleNamespace(url=live.url, password=password, log=live.log)


@contextlib.contextmanager
def _logged_in(server):
    import httpx

    with httpx.Client(base_url=server.url, timeout=60) as web:
        assert web.post("login", data={"username": "desk", "password": server.password}).status_code == 200
        yield web


@pytest.mark.model
def test_malformed_api_calls_get_a_4xx_with_a_message(server):
    """Item 5: a call without a question got HTTP 500 and no message."""
    with _logged_in(server) as web:
        for body in ({"data": []}, {"data": [None]}, {"data": ["？？？", 5]}):
            response = web.post("gradio_api/run/ask", json=body)
            assert response.status_code == 400, (body, response.text)
            assert response.json()["error"]
        answer = web.post("gradio_api/run/ask", json={"data": ["谁管流浪狗"]})  # k defaults to 5
        assert answer.status_code == 200 and answer.json()["data"][0]["results"][0]["id"] == "coop-19"


@pytest.mark.model
def test_a_body_over_the_limit_gets_413(server):
    """Item 3: a 20 MB question body was accepted and answered."""
    with _logged_in(server) as web:
        response = web.post("gradio_api/run/ask", json={"data": ["谁管流浪狗" * 30_000, 5]})
        assert response.status_code == 413 and "larger than this server accepts" in response.json()["error"]


@pytest.mark.model
def test_the_page_names_the_backend(server):
    """Item 1: a fall-back to torch was silent; the page's footer names the backend answering."""
    with _logged_in(server) as web:
        config = web.get("config").text
    assert "da-footer" in config and "Backend" in config


def _loadtest():
    import importlib.util

    spec = importlib.util.spec_from_file_location("loadtest_for_soak", ROOT / "eval" / "loadtest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_soak_questions_are_all_new_and_memory_flatness_is_judged_after_the_warm_up():
    import random

    loadtest = _loadtest()
    rng = random.Random(0)
    asked = [loadtest.fresh_question(["谁管流浪狗", "盖房子要审批吗"], rng, n) for n in range(1, 2001)]
    assert len(set(asked)) == len(asked)
    grows = [(t, (800 + t) * 2**20) for t in range(0, 200, 2)]  # +1 MB a second: 100 MB over the run
    assert loadtest.memory_summary(grows, warmup=60)["flat"] is False
    steady = [(t, (800 + (t if t < 60 else 60) + (t % 3)) * 2**20) for t in range(0, 200, 2)]
    summary = loadtest.memory_summary(steady, warmup=60)
    assert summary["flat"] is True and summary["spread_mb"] <= 3


@pytest.mark.model
def test_the_soak_mode_runs_against_a_live_server(server):
    """Item 2's soak (eval/soak.md is the full run): fresh questions, each in a new session, with a login."""
    loadtest = _loadtest()
    results = loadtest.run(server.url, users=2, seconds=3, questions=["谁管流浪狗", "今天天气怎么样"],
                           auth=("desk", server.password), soak=True, sample=0.5, page_every=1.0)
    stats = loadtest.summary(results)
    assert stats["errors"] == 0, results.errors
    assert stats["requests"] >= 2 and results.soak
    report = loadtest.markdown(results, stats, loadtest.SOAK_COMMAND)
    assert report.startswith("# Soak test") and "a Gradio session of its own" in report


@pytest.mark.model
def test_wrong_logins_are_rate_limited(server):
    """Item 10: 300 wrong passwords in 2.5 s were all tried. (Last in this module: it locks 127.0.0.1 out for a
    minute.)"""
    import httpx

    with httpx.Client(base_url=server.url, timeout=30) as web:
        codes = [web.post("login", data={"username": "desk", "password": f"guess-{i}"}).status_code for i in range(12)]
        assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}
        assert web.post("login", data={"username": "desk", "password": server.password}).status_code == 429
    assert server.password not in server.log.read_text(encoding="utf-8")
