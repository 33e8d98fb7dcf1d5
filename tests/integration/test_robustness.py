"""Bad input and a hostile user: questions of every shape through the Python API, the CLI and the web app
(issue 1), and the safety settings of the server (issue 5).

Property-based tests use hypothesis (no example database is written: `database=None`). Model-backed tests reuse
the session `assistant`; the server tests start one `duty-assistant serve` with a login from a file, without
--log-questions, in a tmp working folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests import live_server
from assistant.answer import Answer
from assistant.labels import labels_for
from assistant.render.text import render_text
from assistant.search.config import RetrievalConfig
from assistant.errors import QuestionError
from assistant.search.query import OTHER_SCRIPT_NOTICE, clean as _clean, language, other_script, searchable

MAX_CHARS = RetrievalConfig().max_chars


def clean(text):
    return _clean(text, MAX_CHARS)

ROOT = Path(__file__).resolve().parents[2]
DUTY_IDS = {f"basic-{n}" for n in range(1, 110)} | {f"coop-{n}" for n in range(1, 100)} | {
    f"reclaimed-{n}" for n in range(1, 38)}

# -- what people (and attackers) type ---------------------------------------------------------------------

UYGHUR = "يېزىلىق ئۆي سېلىش"  # rural house building
KAZAKH = "Ауыл әкімдігі"  # village administration (Kazakh Cyrillic)
PIECES = [
    "谁管流浪狗", "who handles stray dogs", "村民要开婚姻状况证明", "盖房子要审批吗", "誰管流浪狗", UYGHUR, KAZAKH,
    "<script>alert(1)</script>", "<b>", "</b>", "<img src=x onerror=alert(1)>", "'; DROP TABLE duties; --",
    "' OR '1'='1", "SELECT * FROM duties", "{{7*7}}", "${jndi:ldap://x}", "%s%n", "../../etc/passwd", "\\", "&amp;",
    "\x00", "\x1b[31m", "\u200b", "\u202e", "\ufeff", "\udcff", "\ud800", "🙂", "🐶", "👨‍👩‍👧", "？", "。", "…", "—",
    " ", "\n", "\t", "\r\n", "1", "null", "None", "NaN", "ⅷ", "ｆｕｌｌｗｉｄｔｈ", "Ω", "ß", "İ", "ﷺ", "𠀀",
]
question_text = st.one_of(
    st.text(max_size=120),
    st.text(st.characters(categories=["Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Po", "So", "Sm", "Mn"]), max_size=40),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=10).map("".join),
    st.tuples(st.sampled_from(["谁管流浪狗", "x", "🙂", " "]), st.integers(300, 4000)).map(lambda t: t[0] * t[1]),
)
PROPERTY = settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
PURE = settings(max_examples=400, deadline=None, database=None)


# -- cleaning a question (pure) --------------------------------------------------------------------------


@PURE
@given(question_text)
def test_clean_is_total_and_leaves_no_control_characters(text):
    cleaned, truncated = clean(text)
    assert len(cleaned) <= MAX_CHARS
    assert cleaned == cleaned.strip() and "  " not in cleaned and "\n" not in cleaned
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in cleaned)  # always encodable as UTF-8
    cleaned.encode("utf-8")
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c in "\u200b\u202e\ufeff" for c in cleaned)
    assert clean(cleaned) == (cleaned, False)  # idempotent
    assert language(cleaned) in ("zh", "en", "mixed")
    searchable(cleaned), other_script(cleaned)


def test_zero_width_characters_do_not_split_a_word():
    assert clean("谁管流\u200b浪狗\ufeff")[0] == "谁管流浪狗"
    assert clean("who\u00adhandles\u202e stray\u200ddogs")[0] == "whohandles straydogs"
    assert clean("谁管\udcff流浪狗")[0] == "谁管流浪狗"  # an undecodable byte from a terminal


def test_other_scripts_are_recognised():
    assert other_script(UYGHUR) and other_script(KAZAKH)
    assert not other_script("誰管流浪狗") and not other_script("who handles") and not other_script(UYGHUR + " 盖房子")
    assert not other_script("123 ？") and not other_script("café")


# -- the Python API: any text → an Answer or a QuestionError ----------------------------------------------


def check_answer(answer: Answer, text: str, k: int = 5) -> dict:
    """What must hold for every answer, whatever was asked."""
    assert isinstance(answer, Answer)
    cleaned, truncated = clean(text)
    assert answer.question == cleaned
    assert len(answer.cards) <= k
    roles = [c.role for c in answer.cards]
    if answer.answered:
        assert roles and roles[0] == "answer" and set(roles[1:]) <= {"related"}
    else:
        assert "answer" not in roles and "related" not in roles
        assert set(roles) <= {"possibly", "reference"} and bool(roles) == answer.related
        assert answer.tier in ("possibly", "not_in_list")
        assert any(answer.message.startswith(labels_for(lang)[key]) for lang in ("zh", "en") for key in ("not_found", "possibly"))
    assert {c.id for c in answer.cards} <= DUTY_IDS
    if truncated:
        assert str(MAX_CHARS) in answer.notice
    data = answer.to_json()
    text_json = json.dumps(data, ensure_ascii=False)
    text_json.encode("utf-8")  # no lone surrogate anywhere
    assert json.loads(text_json) == data
    assert data["answered"] is answer.answered
    assert not answer.answered or data["results"][0]["role"] == "answer"
    render_text(answer)
    return data


def ask(assistant, text, k=5):
    try:
        return check_answer(assistant.ask(text, k=k), text, k)
    except QuestionError as err:
        message = str(err)
        assert message and "\n" not in message and ("empty" in message or "no words" in message)
        assert not searchable(clean(text)[0])  # only unsearchable text is refused
        return None


@pytest.mark.model
@PROPERTY
@given(text=question_text, k=st.integers(1, 10))
def test_any_text_gives_an_answer_or_a_clear_question_error(assistant, text, k):
    ask(assistant, text, k)


@pytest.mark.model
@pytest.mark.parametrize("text", ["", "   ", "\t\n\r", "\x00\x01\x02", "\u200b\ufeff", "\udcff"])
def test_empty_questions_are_refused_with_a_message(assistant, text):
    with pytest.raises(QuestionError, match="empty"):
        assistant.ask(text)


@pytest.mark.model
@pytest.mark.parametrize("text", ["？？？!!!…", "🙂🙂🐶🐱", "。，、；：", "<>/\\\"'&", "$$$ %%% *** ---", "👨‍👩‍👧"])
def test_punctuation_and_emoji_only_are_refused_with_a_message(assistant, text):
    with pytest.raises(QuestionError, match="no words to search for"):
        assistant.ask(text)


@pytest.mark.model
def test_a_10000_character_question_is_capped_with_a_notice(assistant):
    answer = assistant.ask("谁管流浪狗" * 2000)
    check_answer(answer, "谁管流浪狗" * 2000)
    assert len(answer.question) == MAX_CHARS and answer.notice == f"问题过长，只按前 {MAX_CHARS} 个字检索。"
    # the same five characters two hundred times is not a question a person asks: the calibrated confidence may
    # show it as `possibly` (issue 13), but the duty found stays the stray-dog one
    assert answer.tier in ("answer", "possibly") and answer.cards[0].id == "coop-19"
    english = assistant.ask("who handles stray dogs " * 500)
    assert MAX_CHARS - 1 <= len(english.question) <= MAX_CHARS and "too long" in english.notice
    junk = assistant.ask("x" * 10_000)
    assert junk.notice and not junk.answered


JUNK = [
    "<script>alert(1)</script><b>x</b>", "<b>x</b>", "<img src=x onerror=alert(1)>", "<p>x</p><p>y</p>",
    "javascript:alert(1)", "'; DROP TABLE duties; --", "' OR '1'='1", "SELECT * FROM duties WHERE id=1",
    "{{7*7}}", "../../etc/passwd", "%s%s%n", "null", "a", "asdfghjkl", "!!!! ???? a",
]


@pytest.mark.model
@pytest.mark.parametrize("text", JUNK)
def test_markup_sql_and_junk_are_declined(assistant, text):
    """Nothing in the list answers markup, SQL or keyboard mashing: the plain "not in the list" sentence."""
    answer = assistant.ask(text)
    check_answer(answer, text)
    assert not answer.answered, [c.id for c in answer.cards]


@pytest.mark.model
@pytest.mark.parametrize("text, duty", [
    ("<b>谁管流浪狗</b>", "coop-19"),
    ("<script>alert('谁管流浪狗')</script>", "coop-19"),
    ("谁管流浪狗'; DROP TABLE duties; --", "coop-19"),
    ("谁管\x00流\u200b浪狗\x1b", "coop-19"),
    ("谁管\udcff流浪狗", "coop-19"),
    ("\u202e谁管流浪狗", "coop-19"),
    ("誰管流浪狗", "coop-19"),  # traditional characters
    ("村民要開婚姻狀況證明", "reclaimed-2"),
    ("蓋房子要審批嗎", "basic-84"),
    ("谁管 stray dogs 流浪狗", "coop-19"),  # mixed scripts
    ("ئۆي سېلىش 盖房子审批", "basic-84"),  # Uyghur with Chinese
])
def test_a_real_question_survives_markup_noise_and_other_scripts(assistant, text, duty):
    answer = assistant.ask(text)
    check_answer(answer, text)
    assert answer.cards and answer.cards[0].id == duty
    # words in a script the model does not read (Uyghur here) may leave the calibrated confidence below the answer
    # threshold: then the right duty comes first as `possibly`, never as not in the list
    assert answer.answered or (answer.tier == "possibly" and "ئ" in text), (answer.tier, answer.confidence)
    assert answer.notice == ""


@pytest.mark.model
@pytest.mark.parametrize("text", [UYGHUR, KAZAKH, "한국어로 질문", "ยินดีต้อนรับ"])
def test_other_scripts_are_answered_or_told_which_languages_work(assistant, text):
    answer = assistant.ask(text)
    check_answer(answer, text)
    # Uyghur and Kazakh have their own route (assistant/search/route.py): declined there in their own language
    assert answer.answered or answer.notice == OTHER_SCRIPT_NOTICE or answer.lang in ("ug", "kk", "kk-Arab")


# -- the CLI: exit 0 with JSON, or exit 2 with one `error:` line ---------------------------------------------


def cli(*args: str, stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], input=stdin, capture_output=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=600)


def json_lines(result) -> list[dict]:
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")[-3000:]
    assert b"Traceback" not in result.stderr
    return [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]


def one_error_line(result, answered_before: int = 0) -> str:
    """Exit 2, one `error:` line, no traceback; the answers to the questions before the bad one, nothing else."""
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2, (result.returncode, stderr[-3000:])
    assert "Traceback" not in stderr
    assert len(result.stdout.decode("utf-8").splitlines()) == answered_before, result.stdout[-2000:]
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("duty-assistant ask: error: "), stderr
    return lines[0]


CLI_HOSTILE = [
    "<script>alert(1)</script><b>x</b>", "'; DROP TABLE duties; --", UYGHUR, KAZAKH, "誰管流浪狗",
    "谁管 stray dogs 流浪狗", "谁管\x1b[31m流浪狗\u202e", "谁管流浪狗" * 2000, "$(rm -rf /tmp/nothing)", "`id`", "-k",
]


@pytest.mark.model
def test_cli_answers_hostile_questions_as_json():
    result = cli("ask", "--json", "--", *CLI_HOSTILE)
    answers = json_lines(result)
    assert [a["question"] for a in answers] == [clean(q)[0] for q in CLI_HOSTILE]
    by_question = dict(zip(CLI_HOSTILE, answers))
    assert by_question["<script>alert(1)</script><b>x</b>"]["answered"] is False
    assert by_question["誰管流浪狗"]["results"][0]["id"] == "coop-19"
    # with the route (issue 17) the question is searched in its own model and told in Uyghur beside Chinese,
    # whatever its tier; without a route it gets the "ask in Chinese or English" notice
    uyghur = by_question[UYGHUR]
    routed = uyghur["answered"] or any("\u0600" <= c <= "\u06ff" for c in uyghur["message"])
    assert routed or uyghur["notice"] == OTHER_SCRIPT_NOTICE, uyghur
    assert str(MAX_CHARS) in by_question["谁管流浪狗" * 2000]["notice"]
    for answer in answers:
        assert answer["answered"] or all(r["role"] in ("possibly", "reference") for r in answer["results"])


@pytest.mark.model
@pytest.mark.parametrize("text, says", [("", "empty"), ("？？？ 🙂", "no words to search for")])
def test_cli_refuses_an_unsearchable_question_in_one_line(text, says):
    assert says in one_error_line(cli("ask", "--json", text))


@pytest.mark.model
def test_cli_reads_undecodable_stdin_without_a_traceback():
    """Bytes that are not UTF-8 (a GBK terminal, a binary file) on stdin, with Python's strict stdin decoding."""
    strict = {"PYTHONIOENCODING": "utf-8:strict"}
    answers = json_lines(cli("ask", "--json", stdin=b"\xff\xfe" + "谁管流浪狗\n\nwho handles stray dogs\n".encode(), env=strict))
    assert [a["results"][0]["id"] for a in answers] == ["coop-19", "coop-19"]
    assert "no words to search for" in one_error_line(cli("ask", stdin="谁管流浪狗\n".encode("gb18030"), env=strict))


@pytest.mark.model
def test_a_batch_on_stdin_goes_on_past_an_unsearchable_question():
    """One JSON line per question in order; the bad one is an error line; exit status 1; stderr names it."""
    result = cli("ask", "--json", stdin="谁管流浪狗\n？？？\nwho handles stray dogs\n".encode())
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 1, stderr[-3000:]
    rows = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert "no words to search for" in rows[1]["error"] and rows[1]["question"] == "？？？"
    assert rows[0]["results"][0]["id"] == rows[2]["results"][0]["id"] == "coop-19"
    assert "question 2: error:" in stderr and "no words to search for" in stderr and "Traceback" not in stderr


argv_text = question_text.map(lambda t: "".join(c for c in t if c != "\x00" and not 0xD800 <= ord(c) <= 0xDFFF))


@pytest.mark.model
@settings(max_examples=3, deadline=None, database=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.generate])  # no shrinking: each example is a process (seconds)
@given(st.lists(argv_text, min_size=1, max_size=6))
def test_cli_any_arguments_give_json_or_one_error_line(questions):
    """Whatever the arguments: one JSON line per question (an error line in place of an unsearchable one, exit
    status 1), or for a single unsearchable question one error line on stderr (exit status 2)."""
    result = cli("ask", "--json", "--", *questions)
    good = [searchable(clean(q)[0]) for q in questions]
    if all(good):
        answers = json_lines(result)
        assert [a["question"] for a in answers] == [clean(q)[0] for q in questions]
    elif len(questions) == 1:
        one_error_line(result)
    else:
        stderr = result.stderr.decode("utf-8", "replace")
        assert result.returncode == 1 and "Traceback" not in stderr, stderr[-3000:]
        rows = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
        assert ["error" not in r for r in rows] == good
        assert len([l for l in stderr.splitlines() if ": error: " in l]) == good.count(False)


# -- the web app: user text escaped on every tab --------------------------------------------------------------

HOSTILE_HTML = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def handlers(assistant):
    """The Gradio event handlers of the real app, by function name (called directly, no server)."""
    from assistant.web.app import build_app

    demo = build_app(assistant)
    return {getattr(f.fn, "__name__", ""): f.fn for f in demo.fns.values() if f.fn is not None}


def assert_escaped(html: str) -> None:
    """The hostile text is there, as text: no tag of it survives."""
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img" in html


@pytest.mark.model
def test_chat_shows_question_and_errors_escaped(handlers):
    history, box, asked = handlers["add_question"](HOSTILE_HTML, [])
    assert_escaped(history[-1]["content"])
    assert box == "" and asked == HOSTILE_HTML
    reply = handlers["respond"](HOSTILE_HTML, history, "__all__", "__all__", "__all__", 5)[-1]["content"]
    assert "<script" not in reply and "<img" not in reply
    reply = handlers["respond"]("谁管流浪狗", [], "__all__", "__all__", HOSTILE_HTML, 5)[-1]["content"]
    assert "da-error" in reply  # an unknown county body named in the filter is an error, shown escaped
    assert_escaped(reply)


@pytest.mark.model
def test_browse_tab_escapes_what_is_typed(handlers):
    frame, count = handlers["browse"]("__all__", "__all__", HOSTILE_HTML)
    assert len(frame) == 0 and "<script" not in count and HOSTILE_HTML not in count
    frame, count = handlers["browse"](HOSTILE_HTML, HOSTILE_HTML, "流浪犬")  # values a crafted request could send
    assert len(frame) == 0
    card = handlers["show_duty"](HOSTILE_HTML)
    assert "da-error" in card
    assert_escaped(card)
    assert "文明养犬管理工作" in handlers["show_duty"](" COOP-19 ")


@pytest.mark.model
def test_departments_tab_escapes_what_is_sent(handlers):
    page = handlers["show_department"](HOSTILE_HTML)
    assert "da-error" in page
    assert_escaped(page)
    assert "县水利局" in handlers["show_department"]("县水利局")


@pytest.mark.model
def test_api_handler_raises_a_clear_error_for_bad_input(handlers):
    import gradio as gr

    api = handlers["api_ask"]
    for bad in ("", "？？？", None):
        with pytest.raises(gr.Error):
            api(bad)
    for odd in (123, ["谁管流浪狗"], {"q": 1}):  # whatever JSON a client sends: an answer, never a crash
        assert api(odd)["question"] == str(odd)
    answer = api(HOSTILE_HTML, "not a number")  # k is clamped, never an exception
    assert answer["answered"] is False and len(answer["results"]) <= 5
    assert len(api("谁管流浪狗", 10_000)["results"]) <= 10


# -- security settings --------------------------------------------------------------------------------------


def test_serve_defaults_to_loopback_without_share_login_or_logging():
    from assistant.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.share is False
    assert args.log_questions is None and args.auth_file is None


def _files(folder: Path, skip=(".venv", ".git", "__pycache__", ".pytest_cache", ".hypothesis")) -> dict[Path, int]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for name in filenames:
            path = Path(dirpath) / name
            try:
                found[path] = path.stat().st_mtime_ns
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def private_server(tmp_path_factory):
    """`serve` with a login from a file outside the repo, no question log, run from an empty tmp folder."""
    base = tmp_path_factory.mktemp("private-server")
    cwd, gradio_tmp = base / "cwd", base / "gradio"
    cwd.mkdir()
    users = base / "users"
    password = "pw-" + uuid.uuid4().hex
    users.write_text(f"# desk staff\ndesk:{password}\n", encoding="utf-8")
    before = _files(ROOT)
    started = time.time()
    try:
        live = live_server.start(["--auth-file", str(users)], log=base / "server.log", cwd=cwd,
                                 env={"GRADIO_TEMP_DIR": str(gradio_tmp)})
    except live_server.ServerError as err:
        pytest.fail(str(err))
    with live:
        yield SimpleNamespace(url=live.url, proc=live.process, password=password, cwd=cwd, gradio_tmp=gradio_tmp,
                              log=live.log, before=before, started=started)


def test_server_listens_on_loopback_only(private_server):
    import psutil

    listening = [c.laddr for c in psutil.Process(private_server.proc.pid).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening


@pytest.mark.model
def test_login_from_a_file(private_server):
    import httpx
    from gradio_client import Client

    assert httpx.get(private_server.url + "config", timeout=10).status_code == 401
    with httpx.Client(base_url=private_server.url, timeout=10) as web:
        assert web.post("login", data={"username": "desk", "password": "wrong"}).status_code >= 400
        assert web.post("login", data={"username": "desk", "password": private_server.password}).status_code == 200
    client = Client(private_server.url, auth=("desk", private_server.password), verbose=False)
    assert client.predict("谁管流浪狗", api_name="/ask")["results"][0]["id"] == "coop-19"
    assert private_server.password not in private_server.log.read_text(encoding="utf-8")


@pytest.mark.model
def test_questions_are_not_written_to_disk_without_log_questions(private_server):
    from gradio_client import Client

    marker = "qz" + uuid.uuid4().hex[:12]
    client = Client(private_server.url, auth=("desk", private_server.password), verbose=False)
    asked = [f"谁管流浪狗 {marker}", f"who handles stray dogs {marker}", f"<b>{marker}</b>", f"{UYGHUR} {marker}"]
    for question in asked:
        assert marker in client.predict(question, api_name="/ask")["question"]
    with pytest.raises(Exception):
        client.predict("？？？", api_name="/ask")
    time.sleep(1)
    assert list(private_server.cwd.iterdir()) == []  # nothing in the working folder
    needle = marker.encode()
    written = []
    roots = [ROOT, private_server.gradio_tmp, Path.home() / ".cache" / "duty-assistant", Path(os.environ.get("TMPDIR", "/tmp"))]
    for root in roots:
        if not root.exists():
            continue
        for path, mtime in _files(root).items():
            if mtime < private_server.started * 1e9 or path.stat().st_size > 50_000_000:
                continue
            if root == ROOT and private_server.before.get(path) == mtime:
                continue
            try:
                if needle in path.read_bytes():
                    written.append(path)
            except OSError:
                pass
    written = [p for p in written if not str(p).startswith(str(Path(__file__).parent)) and p != private_server.log]
    assert not written, written
    assert marker not in private_server.log.read_text(encoding="utf-8")  # nor printed to the server's output


@pytest.mark.model
def test_load_test_script_runs_against_a_live_server(private_server, monkeypatch):
    """eval/loadtest.py (the full run writes eval/load.md): a short run with a login, figures and report."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("loadtest", ROOT / "eval" / "loadtest.py")
    loadtest = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "loadtest", loadtest)
    spec.loader.exec_module(loadtest)
    results = loadtest.run(private_server.url, users=3, seconds=4, questions=["谁管流浪狗", "今天天气怎么样", "<b>x</b>"],
                           pid=private_server.proc.pid, auth=("desk", private_server.password), sample=0.5,
                           page_every=1.0)
    stats = loadtest.summary(results)
    assert stats["errors"] == 0, results.errors
    assert stats["requests"] >= 3 and stats["latency_ms"]["p95"] >= stats["latency_ms"]["p50"] > 0
    assert stats["page"]["ok"] == stats["page"]["requests"] >= 2
    assert stats["memory"]["samples"] >= 3
    report = loadtest.markdown(results, stats)
    assert report.splitlines()[0].startswith("# Load test") and loadtest.COMMAND in report
    with pytest.raises(SystemExit, match="only 127.0.0.1"):
        loadtest.check_local("http://example.org:7860/")
