"""The web app (Gradio): ask, browse, departments, evaluate — a thin layer over `assistant.api`.

Run it:

    duty-assistant serve                        # http://127.0.0.1:7860 (model and index load once, at start)
    duty-assistant serve --port 8000
    DUTY_ASSISTANT_AUTH="desk:secret" duty-assistant serve --host 0.0.0.0    # login for a shared deployment
    duty-assistant serve --auth-file /etc/duty-assistant/users               # lines `user:password`
    duty-assistant serve --log-questions questions.jsonl                     # off by default

The answer is callable through Gradio's API, endpoint `/ask`, taking (question, k=5) and returning
`Answer.to_json()` — {"question", "answered", "message", "notice", "results": [{"id", "title", "list",
"category", "citation", "role", "score", "responsibility", "responsible", "matched_steps"}, …]}:

    from gradio_client import Client

    client = Client("http://127.0.0.1:7860/")            # with a login: Client(url, auth=("user", "password"))
    answer = client.predict("谁管流浪狗", api_name="/ask")
    answer["results"][0]["id"]                            # 'coop-19'
    client.predict("who handles stray dogs", 3, api_name="/ask")   # k = 3 cards

A question that cannot be searched (empty, only punctuation) raises `gradio_client.exceptions.AppError` whose
message says what to type.

Privacy and safety: the server binds 127.0.0.1 unless --host says otherwise, never asks for a public share
link unless --share is given, keeps no question on disk unless --log-questions FILE is given (then one JSON
line per question: time, question, answered, top duty id; never a user name or password), and does not let
the browser keep a run history. Credentials come only from DUTY_ASSISTANT_AUTH or --auth-file, never from the
repository. Everything a user types, and all list text, is HTML-escaped before it is shown.

Where things are: the HTML in assistant/render/html.py, the tables' rows in assistant/render/tables.py, the
page's style and scripts in static/app.css and static/app.js, logins in auth.py, the question log in
question_log.py, the filters in filters.py; this module lays out the tabs and wires their events.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from assistant.answer import Answer
from assistant.errors import DutyAssistantError
from assistant.render.html import (
    answer_html, body_count_html, department_html, duty_html, question_html, user_error_html,
)
from assistant.render.tables import DUTY_TABLE_HEADERS, breakdown_table, duty_rows, failures_table, metrics_rows
from assistant.settings import current
from assistant.web.auth import ENV_AUTH, load_auth
from assistant.web.filters import (
    ALL, ALL_CHOICE, browse_duties, category_choices, chosen, department_choices, list_choices,
)
from assistant.web import allocator
from assistant.web.evaluate_runs import Busy, Cancelled, EvalRuns, plain
from assistant.web.question_log import QuestionLog
from assistant.web.review_tab import (
    ReviewerLogins, feedback_endpoint, feedback_row, note_answer, review_parts, review_tab, similar_html,
)

DEFAULT_CONCURRENCY = 4  # questions answered at once; the rest wait in Gradio's queue
MAX_K = 10
MAX_EVAL_QUESTIONS = 2000
TEMPLATE = Path(__file__).resolve().parent / "static" / "questions-template.jsonl"  # the Evaluate tab's download

EXAMPLES = [
    "谁管流浪狗",
    "who handles stray dogs",
    "村民要开婚姻状况证明",
    "盖房子要审批吗",
    "县水利局需要镇上配合做什么",
    "今天天气怎么样",
    "Where do I get a marriage status certificate?",
    "狗打疫苗归谁管",
]

FONTS = ["system-ui", "-apple-system", "Segoe UI", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei",
         "WenQuanYi Micro Hei", "sans-serif"]

# Defined by static/app.js (in the page's <head>); an event's js runs it after a question and after its answer.
SCROLL_TO_LAST_QUESTION = "() => { if (window.daScrollToLastQuestion) window.daScrollToLastQuestion(); }"


# -- small shared pieces --------------------------------------------------------------------------------


def _gradio():
    """Gradio, imported late (it is slow) and with its analytics off: nothing leaves the machine."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # read by gradio at import
    import gradio

    return gradio


def static_text(name: str) -> str:
    """A file of static/ (package data, so it ships with the wheel)."""
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def page_head() -> str:
    """What the page's <head> gets: the viewport, static/page.css (colours, phone layout, print: styles Gradio
    must not scope to its container) and static/app.js (copy, print, links to a body's page, scrolling)."""
    return ('<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<style>\n{static_text('page.css')}</style>\n"
            f"<script>\n{static_text('app.js')}</script>\n")


def _theme():
    gr = _gradio()
    # Only local fonts: a default theme would ask Google Fonts for them, and the app must work offline.
    return gr.themes.Soft(font=FONTS, font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


def _clamp_k(k) -> int:
    try:
        return max(1, min(MAX_K, int(k)))
    except (TypeError, ValueError):
        return 5


@dataclass(frozen=True)
class Choices:
    """The dropdowns' choices, computed once from the loaded data and shared by the tabs."""

    lists: list[tuple[str, str]]
    categories: list[tuple[str, str]]
    departments: list[tuple[str, str]]

    @classmethod
    def of(cls, assistant) -> "Choices":
        return cls(list_choices(), category_choices(assistant.categories()),
                   department_choices(assistant.data.registry))


def make_ask(assistant, log: QuestionLog | None, feedback=None):
    """The one way every tab and the API ask: k clamped, "all" filters dropped, the question logged if asked to,
    the answer given an `answer_id` for feedback (assistant.state.feedback; kept as DUTY_ASSISTANT_KEEP says)."""

    def ask(question, k=5, list_value=None, department=None, category=None) -> Answer:
        question = "" if question is None else str(question)  # the API takes whatever JSON a client sends
        answer = assistant.ask(question, k=_clamp_k(k), list=chosen(list_value), department=chosen(department),
                               category=chosen(category))
        if log is not None:
            log.write(question, answer)
        if feedback is not None:
            answer.answer_id = feedback.remember(answer)
        return answer

    return ask


def api_endpoint(ask):
    """The `/ask` API function (its name, signature and docstring are what Gradio's API page shows)."""
    gr = _gradio()

    def api_ask(question: str, k: int = 5) -> dict:
        """Answer a question from the town's duty list. Returns Answer.to_json(): question, answered, message,
        notice and results (id, title, list, category, citation, role, score, responsibility, responsible,
        matched_steps), best first. k: how many duties to return (1-10, default 5)."""
        try:
            answer = ask(question, k)
            return {**answer.to_json(), "answer_id": getattr(answer, "answer_id", "")}  # for /feedback
        except DutyAssistantError as err:  # e.g. a QuestionError: the message says what to type
            raise gr.Error(str(err), print_exception=False) from None

    return api_ask


# -- the tabs (each builds its gr.Tab inside the app's Blocks and wires its own events) -------------------


def ask_tab(ask, registry, choices: Choices, feedback=None, duties=()) -> None:
    """Ask: the chat with answer cards, example questions, and filters beside it."""
    gr = _gradio()

    def add_question(question, history):
        """Show the question at once (escaped) and clear the box; the answer follows."""
        question = question or ""
        shown = question_html(question) if question.strip() else '<div class="da-question">…</div>'
        return list(history or []) + [{"role": "user", "content": shown}], "", question

    def respond(question, history, list_value, category, department, k, request=None):
        history = list(history or [])
        try:
            answer = ask(question or "", k, list_value, department, category)
            reply = answer_html(answer, registry)
            note_answer(feedback, request, answer)  # the session's latest answer, for the feedback row
        except DutyAssistantError as err:  # nothing to search for, or an unknown filter value: says what to do
            reply = user_error_html(err, question)
        history.append({"role": "assistant", "content": reply})
        return history

    respond.__annotations__["request"] = gr.Request  # resolved here: this module uses string annotations

    with gr.Tab("问答 · Ask", id="ask"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=480):  # narrower screens: the filters go below
                chat = gr.Chatbot(  # its height: static/page.css (the window's height less the page's head)
                    label="对话 · Chat", show_label=False, elem_id="da-chat", height=600, render_markdown=False,
                    sanitize_html=True, allow_tags=False, latex_delimiters=[], feedback_options=None,
                    buttons=[], autoscroll=False,
                    placeholder="请输入问题，例如“谁管流浪狗”。 · Ask a question, e.g. “who handles stray dogs”.",
                )
                with gr.Row():
                    question = gr.Textbox(
                        show_label=False, placeholder="输入问题后按回车 · Type a question and press Enter",
                        elem_id="da-question", scale=5, min_width=200, max_length=4000,
                    )  # focused by static/app.js on a wide screen, without scrolling (autofocus scrolls a phone)
                    send = gr.Button("提问 · Ask", variant="primary", scale=1, min_width=90, elem_id="da-send")
                    clear = gr.Button("清空 · Clear", scale=1, min_width=90)
                examples = gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[question],
                                       label="示例问题 · Example questions", examples_per_page=len(EXAMPLES))
            with gr.Column(scale=1, min_width=240):
                gr.Markdown("**筛选 · Filters**")
                f_list = gr.Dropdown(choices.lists, value=ALL, label="清单 · List", elem_id="da-ask-list")
                f_category = gr.Dropdown(choices.categories, value=ALL, label="事项类别 · Category")
                f_dept = gr.Dropdown([ALL_CHOICE] + choices.departments, value=ALL, label="县级部门 · County body")
                f_k = gr.Slider(1, MAX_K, value=5, step=1, label="显示条数 · Cards shown")
        asked = gr.State("")
        for trigger in (question.submit, send.click, examples.load_input_event.then):
            (trigger(add_question, [question, chat], [chat, question, asked], api_visibility="private", queue=False)
             .then(None, js=SCROLL_TO_LAST_QUESTION)
             .then(respond, [asked, chat, f_list, f_category, f_dept, f_k], [chat], api_visibility="private")
             .then(None, js=SCROLL_TO_LAST_QUESTION))
        clear.click(lambda: ([], ""), None, [chat, question], api_visibility="private", queue=False)
        feedback_row(feedback, chat, duties)  # right / wrong / not in the list, for the latest answer


def browse_tab(assistant, choices: Choices):
    """Browse: every duty in a filterable table, and one duty's full entry by row or id.

    Returns:
        (handler, inputs, outputs) that fill the table; the app runs it when the page loads.
    """
    import pandas as pd

    gr = _gradio()
    data, registry = assistant.data, assistant.data.registry

    def browse(list_value, category, text):
        """The table for the filters and the search; the search is read the way Ask reads a question."""
        found = browse_duties(assistant, list_value, category, text)
        frame = pd.DataFrame(duty_rows(found.duties, registry), columns=DUTY_TABLE_HEADERS)
        n, total = len(found.duties), len(data.duties)
        how = {"meaning": " · 按意思查找 · by meaning", "body": " · 该部门的全部事项 · the body's duties"}.get(found.how, "")
        line = f'<div class="da-count-line">显示 {n} / {total} 项 · showing {n} of {total} duties{how}</div>'
        if found.body:  # the body's count in the whole list, as its page shows it, whatever the filters
            line += body_count_html(found.body, sum(map(len, assistant.duties_of(found.body).values())), registry)
        return frame, line

    def show_duty(duty_id):
        duty_id = (duty_id or "").strip().lower().replace(" ", "")
        if not duty_id:
            return ""
        try:
            duty = assistant.duty(duty_id)
        except DutyAssistantError as err:  # NotFound: says what ids look like
            return user_error_html(err, duty_id)
        return duty_html(duty, registry) + similar_html(assistant.data.similar.get(duty.id, []))

    def select_row(frame, evt: gr.SelectData):
        row = getattr(evt, "row_value", None)
        duty_id = row[0] if row else None
        if duty_id is None and evt.index is not None:
            index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
            try:
                duty_id = frame.iloc[int(index), 0]
            except Exception:  # noqa: BLE001 - a stale selection shows nothing
                duty_id = None
        return (duty_id or ""), show_duty(duty_id)

    select_row.__annotations__["evt"] = gr.SelectData  # resolved here: this module uses string annotations

    with gr.Tab("浏览 · Browse", id="browse"):
        with gr.Row():
            b_list = gr.Dropdown(choices.lists, value=ALL, label="清单 · List", min_width=200, elem_id="da-browse-list")
            b_category = gr.Dropdown(choices.categories, value=ALL, label="事项类别 · Category", min_width=200)
            b_text = gr.Textbox(label="搜索 · Search", placeholder="关键词、部门、编号 · words, body, id",
                                min_width=200, elem_id="da-browse-search")
        b_count = gr.HTML(elem_id="da-browse-count")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                table = gr.Dataframe(
                    headers=DUTY_TABLE_HEADERS, interactive=False, wrap=True, max_height=620, elem_id="da-table",
                    # fixed widths: an id stays on one line ("reclaimed-35", not "co op-15"); a narrow screen
                    # scrolls the table sideways, not the page
                    column_widths=["112px", "52px", "96px", "300px", "150px"],
                )
            with gr.Column(scale=2, min_width=320):
                with gr.Row():
                    b_id = gr.Textbox(label="按编号查看 · Show by id", placeholder="coop-19, basic-43, reclaimed-2",
                                      min_width=160, scale=3, elem_id="da-browse-id")
                    b_show = gr.Button("查看 · Show", scale=1, min_width=80)
                b_card = gr.HTML('<div class="da-intro">点选表格中的一行，或输入编号。 · '
                                 'Choose a row in the table, or type an id.</div>', elem_id="da-browse-card")
        for trigger in (b_list.change, b_category.change, b_text.change):  # a search while typing: the last one
            trigger(browse, [b_list, b_category, b_text], [table, b_count], api_visibility="private",
                    trigger_mode="always_last")
        table.select(select_row, [table], [b_id, b_card], api_visibility="private")
        b_id.submit(show_duty, [b_id], [b_card], api_visibility="private")
        b_show.click(show_duty, [b_id], [b_card], api_visibility="private")
    return browse, [b_list, b_category, b_text], [table, b_count]


def departments_tab(assistant, choices: Choices) -> None:
    """Departments: everything one county body leads, takes part in, or took over."""
    gr = _gradio()
    registry = assistant.data.registry

    def show_department(name):
        if not name:
            return '<div class="da-intro">请选择一个县级部门。 · Choose a county body.</div>'
        try:
            grouped = assistant.duties_of(name)
        except DutyAssistantError as err:  # NotFound: names a few bodies that exist
            return user_error_html(err, name)
        return department_html(registry.resolve(name) or name, grouped, registry)

    def requested(name):
        """A "see all duties of this body" link in an answer or in Browse (static/app.js opens this tab and puts
        the body's name here): choose it in the dropdown and show its page."""
        name = registry.resolve((name or "").split("|")[0]) or None
        return (name, show_department(name)) if name else (gr.skip(), gr.skip())

    with gr.Tab("部门 · Departments", id="departments"):
        d_name = gr.Dropdown(choices.departments, value=None, label="县级部门 · County body",
                             info="该部门牵头、参与、承接或在步骤中提及的全部事项 · everything it leads, takes part in, "
                                  "took over or is named in",
                             elem_id="da-dept")
        d_request = gr.Textbox(label="部门链接 · body link", show_label=False, container=False,
                               elem_id="da-dept-request", elem_classes=["da-hidden"], interactive=True)
        d_html = gr.HTML(show_department(None), elem_id="da-dept-html")
        d_name.change(show_department, [d_name], [d_html], api_visibility="private")
        d_request.change(requested, [d_request], [d_name, d_html], api_visibility="private", queue=False)


# ranx's metrics (numba) run one at a time: two threads in them at once abort the whole server ("Numba workqueue
# threading layer is terminating: Concurrent access has been detected"), e.g. a run started while the warm-up runs
SCORING = threading.Lock()


def _warm_up_once():
    """A handler that, the first time it runs, compiles ranx's metrics (numba, ~20-40 s) in the background, so
    that someone who opens the Evaluate tab does not wait for it after uploading their questions."""
    warmed = threading.Event()

    def warm_up_scoring():
        if warmed.is_set():
            return
        warmed.set()

        def work():
            try:
                from assistant.evaluation.metrics import score
                from assistant.evaluation.questions import Question, RunRow

                qs = [Question("w1", "w", ("basic-1",)), Question("w2", "w", ())]
                with SCORING:
                    score("warm-up", qs, {"w1": RunRow("w1", ["basic-1"], True, 0.0), "w2": RunRow("w2", [], False, 0.0)})
            except Exception:  # noqa: BLE001 - only a warm-up
                pass

        threading.Thread(target=work, name="ranx-warm-up", daemon=True).start()

    return warm_up_scoring


def _write_outputs(path: Path, questions, rows, metrics) -> tuple[Path, Path, Path]:
    """The report, the chart and the run file of an uploaded evaluation, in a fresh temporary folder."""
    from assistant.evaluation.questions import write_run
    from assistant.evaluation.report import markdown
    from assistant.render.charts import style_chart

    out = EvalRuns.output_folder()  # private, removed after a few minutes (evaluate_runs.py)
    stem = re.sub(r"[^\w.-]+", "_", path.stem) or "questions"
    report_path = out / f"{stem}-report.md"
    report_path.write_text(markdown([metrics], f"{path.name} ({len(questions)} questions)"), encoding="utf-8")
    chart_path = out / f"{stem}-top1-by-style.png"
    style_chart(metrics, chart_path, f"Top-1 by style — {path.name}")
    run_path = out / f"{stem}-run.jsonl"
    write_run(run_path, rows)
    EvalRuns.seal(out)  # 0600: they hold the uploaded questions
    return report_path, chart_path, run_path


def evaluate_tab(assistant, runs: EvalRuns | None = None) -> None:
    """Evaluate: upload a question file, get the metrics, a chart by style, the failures and the run file.
    `runs` bounds it (questions, characters, one run at a time, who may run; see evaluate_runs.py)."""
    import pandas as pd

    from assistant.errors import EvalError
    from assistant.evaluation.metrics import score
    from assistant.evaluation.questions import load_questions, run_questions

    gr = _gradio()
    known_ids = {d.id for d in assistant.data.duties}
    runs = runs or EvalRuns(MAX_EVAL_QUESTIONS, 60_000)

    def shown(value):
        return gr.update(value=value, visible=True)

    def evaluate(file, request=None, progress=gr.Progress(track_tqdm=True)):
        empty = tuple(gr.update(value=None, visible=False) for _ in range(5))  # no empty tables before a run
        if not runs.allowed:  # off on this server: nothing is read
            return (f"⚠ {runs.why_not}",) + empty
        if file is None:
            return ("⚠ 请先上传问题文件（JSON Lines）。 · Upload a question file (JSON Lines) first.",) + empty
        path = Path(file if isinstance(file, str) else getattr(file, "name", file))
        try:
            questions = load_questions(path, known_ids)
        except EvalError as err:
            message = plain(str(err).replace(str(path), path.name))  # it quotes what the file holds
            return (f"⚠ 问题文件有误 · Bad question file: {message}",) + empty
        refused = runs.refusal(questions)  # off here, too many questions or characters
        if refused:
            return (f"⚠ {refused}",) + empty
        try:
            with runs.start(getattr(request, "session_hash", "")) as run:
                start = time.perf_counter()
                rows = run_questions(assistant, runs.cancellable(questions, run), progress=True)
        except Busy:
            return ("⏳ 另一个评测正在运行，请稍后再试。 · Another evaluation is running; try again when it has "
                    "finished.",) + empty
        except Cancelled:
            return ("✗ 评测已取消。 · The evaluation was cancelled.",) + empty
        progress(0.99, desc="scoring")
        with SCORING:  # never beside the warm-up: numba's threading layer aborts the process on concurrent use
            metrics = score("uploaded", questions, {r.id: r for r in rows})
        seconds = time.perf_counter() - start
        report_path, chart_path, run_path = _write_outputs(path, questions, rows, metrics)
        headers, values = metrics_rows(metrics)
        b_headers, b_values = breakdown_table(metrics)
        f_headers, f_values = failures_table(metrics, {r.id: r for r in rows})
        status = (f"✓ {plain(path.name)}: {len(questions)} 个问题，用时 {seconds:.1f} 秒；失败 {len(metrics.failures)} 个。 · "
                  f"{len(questions)} questions in {seconds:.1f} s; {len(metrics.failures)} failures.")
        return (status, shown(pd.DataFrame(values, columns=headers)), shown(str(chart_path)),
                shown(pd.DataFrame(b_values, columns=b_headers)), shown(pd.DataFrame(f_values, columns=f_headers)),
                shown([str(run_path), str(report_path)]))

    evaluate.__annotations__["request"] = gr.Request  # resolved here: this module uses string annotations

    def cancel(request: gr.Request):
        """Cancel the run this session started (checked between questions)."""
        if runs.cancel(getattr(request, "session_hash", "")):
            return "… 正在取消 · Cancelling …"
        return gr.skip()

    cancel.__annotations__["request"] = gr.Request

    with gr.Tab("评测 · Evaluate", id="evaluate") as tab:
        gr.Markdown(
            "上传问题文件（JSON Lines，每行 `{\"id\", \"question\", \"relevant\": [duty ids]}`；"
            "`relevant` 为空表示清单无法回答、应当拒答），得到指标、按风格的图表、失败的问题和运行文件。 · "
            "Upload a question file in the evaluator's format to get the metrics, a chart by style, "
            "the failures and the run file."
        )
        with gr.Row():
            e_file = gr.File(label="问题文件 · Question file (.jsonl)", file_types=[".jsonl", ".json", ".txt"],
                             elem_id="da-eval-file", min_width=240)
            with gr.Column(min_width=200):
                e_run = gr.Button("运行评测 · Run evaluation", variant="primary", elem_id="da-eval-run")
                gr.DownloadButton("下载问题文件模板 · Download a template", value=str(TEMPLATE),
                                  elem_id="da-eval-template")
        e_status = gr.Markdown(runs.limits_text() if runs.allowed else f"⚠ {runs.why_not}", elem_id="da-eval-status")
        e_cancel = gr.Button("取消评测 · Cancel the evaluation", size="sm", elem_id="da-eval-cancel")
        # the results appear after a run (no placeholder columns "1 2 3" before it)
        e_table = gr.Dataframe(label="指标 · Metrics", interactive=False, elem_id="da-eval-table", visible=False,
                               wrap=True, max_height=720)  # every row in view, down to the trust figures
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                e_chart = gr.Image(label="按风格的 top-1 · Top-1 by style", show_label=False, type="filepath",
                                   interactive=False, elem_id="da-eval-chart", visible=False)
            with gr.Column(scale=2, min_width=280):
                e_breakdown = gr.Dataframe(label="分组 · Breakdown", interactive=False, max_height=420, visible=False)
        e_failures = gr.Dataframe(label="失败的问题 · Failures", interactive=False, wrap=True, max_height=400,
                                  elem_id="da-eval-failures", visible=False)
        e_out = gr.File(label="运行文件与报告 · Run file and report", file_count="multiple", interactive=False,
                        elem_id="da-eval-out", visible=False)
        # two at once: a second run is told at once that one is running (EvalRuns), not queued behind it
        e_run.click(evaluate, [e_file], [e_status, e_table, e_chart, e_breakdown, e_failures, e_out],
                    api_visibility="private", concurrency_limit=2, concurrency_id="evaluate")
        e_cancel.click(cancel, None, [e_status], api_visibility="private", queue=False)
        tab.select(_warm_up_once(), None, None, api_visibility="private", queue=False)


# -- the app --------------------------------------------------------------------------------------------


def build_app(assistant, log: QuestionLog | None = None, feedback=None, desk=None, logins=None,
              runs: EvalRuns | None = None):
    """The Gradio Blocks over one loaded Assistant (shared by every session).

    Args:
        assistant: an open `assistant.api.Assistant`.
        log: where to log questions; None (the default) keeps none.
        runs: the Evaluate tab's bounds (default: the settings' limits; serve() says who may run it).
        feedback: keeps answers and marks (assistant.state.feedback.Feedback); None: no feedback controls.
        desk: the Review desk (assistant.review.desk.ReviewDesk) and `logins` its reviewers (web/review_tab.py).
    """
    gr = _gradio()
    choices = Choices.of(assistant)
    ask = make_ask(assistant, log, feedback)
    runs = runs or EvalRuns.from_settings(current())
    # every 10 minutes, files older than 50 minutes leave Gradio's cache: uploads and Evaluate outputs within the hour
    with gr.Blocks(title="Duty Assistant · 履职事项助手", analytics_enabled=False, delete_cache=(600, 3000)) as demo:
        gr.Markdown(
            "## 履职事项助手 · Duty Assistant\n"
            f"谁来办？答案全部来自本镇的三张履职事项清单（{len(assistant.data.duties)} 项），并注明出处。 · "
            "Who handles this? Every answer comes from the town's official duty lists, with its citation.",
            elem_classes=["da-intro"],
        )
        with gr.Tabs(overflow_behavior="wrap", elem_id="da-tabs"):  # every tab reachable on a phone (no "⋯" menu)
            ask_tab(ask, assistant.data.registry, choices, feedback, assistant.data.duties)
            fill_table, table_inputs, table_outputs = browse_tab(assistant, choices)
            departments_tab(assistant, choices)
            evaluate_tab(assistant, runs)
            review_tab(desk, logins or ReviewerLogins(None), assistant.data.duties)
        gr.api(api_endpoint(ask), api_name="ask")
        gr.HTML(footer_html(assistant), elem_id="da-footer")
        gr.api(feedback_endpoint(feedback), api_name="feedback")
        demo.load(fill_table, table_inputs, table_outputs, api_visibility="private", queue=False)
    return demo


def footer_html(assistant) -> str:
    """The page's last line: the model, and the backend answering (with why, when it fell back to torch)."""
    import html

    from assistant import models

    note = models.backend_note(assistant.retriever.encoder.model)
    return (f'<div class="da-footer">模型 · Model: {html.escape(assistant.model_id)} · '
            f'后端 · Backend: {html.escape(note)}</div>')


def port_problem(host: str, port: int) -> str | None:
    """Why (host, port) cannot be listened on, or None."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        return f"unknown host: {err.strerror or err}"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as err:
            return err.strerror or str(err)
    return None


def _url_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else (f"[{host}]" if ":" in host else host)


def serve(args) -> int:
    """`duty-assistant serve`: load once, then serve every session from the same Assistant."""
    from assistant.api import Assistant
    from assistant.options import config_from

    from assistant import models
    from assistant.errors import SettingsError
    from assistant.web.middleware import stack

    config = config_from(args)
    settings = current()
    auth = load_auth(settings.auth, getattr(args, "auth_file", None))
    host, port = args.host or "127.0.0.1", int(args.port)
    if not 1 <= port <= 65535:  # every mistake in the command line is said now, not after loading the model
        raise SettingsError(f"--port {port} is not a port number; choose one from 1 to 65535, e.g. --port 7860")
    problem = port_problem(host, port)
    if problem:
        raise SettingsError(f"cannot listen on {host}:{port} ({problem}); check --host and --port")
    log = QuestionLog(args.log_questions) if getattr(args, "log_questions", None) else None  # opened now, 0600
    # Evaluate runs hundreds of questions: on a server others can reach, only for logged-in users
    runs = EvalRuns.from_settings(settings, allowed=bool(auth) or host in LOOPBACK, why_not=EVAL_NEEDS_LOGIN)
    allocator.tune()  # before the model and the worker threads: fewer malloc arenas, freed memory handed back

    print("正在加载模型和索引… / Loading model and index…", flush=True)
    start = time.perf_counter()
    assistant = Assistant.open(config=config, build=True)
    assistant.ask("谁管流浪狗")  # warm up (tokeniser, word lists) so the first user does not wait
    print(f"已加载 / Loaded: {len(assistant.data.duties)} duties, model {assistant.model_id}, "
          f"{time.perf_counter() - start:.1f} s", flush=True)
    print(f"后端 / Backend: {models.backend_note(assistant.retriever.encoder.model)}", flush=True)
    uploads = _private_upload_folder()  # uploads and Evaluate outputs: not in a shared /tmp/gradio

    feedback, desk, logins = review_parts(assistant)
    demo = build_app(assistant, log, feedback, desk, logins, runs=runs)
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.queue)
    try:
        demo.launch(
            server_name=host, server_port=port, share=bool(args.share), auth=auth,
            auth_message="请登录 · Please log in" if auth else None,
            prevent_thread_lock=True, quiet=True, show_error=False, inbrowser=False,
            footer_links=["api"], run_history=False, enable_monitoring=False, ssr_mode=False, pwa=False,
            mcp_server=False, max_file_size="5mb", theme=_theme(), css=static_text("app.css"), head=page_head(),
            # bounded: sessions kept (each ~110 KB), request bodies, failed logins, malformed API calls
            state_session_capacity=settings.sessions,
            app_kwargs={"middleware": stack(max_body=settings.max_body_kb * 1024, max_upload=MAX_UPLOAD_BYTES,
                                            check_question=question_problem(assistant))},
        )
    except OSError as err:
        if uploads is not None:
            shutil.rmtree(uploads, ignore_errors=True)
        print(f"duty-assistant serve: error: cannot listen on {host}:{port} ({err}); choose another --port",
              file=sys.stderr)
        return 2
    url = f"http://{_url_host(host)}:{port}/"
    print(f"就绪 / Ready: {url}", flush=True)
    if getattr(demo, "share_url", None):
        print(f"公开链接 / Public share link: {demo.share_url}", flush=True)
    if auth:
        print(f"需要登录 / Login required ({len(auth)} user{'s' if len(auth) != 1 else ''})", flush=True)
    elif host not in ("127.0.0.1", "localhost", "::1"):
        print(f"注意 / Note: listening on {host} without a login; set {ENV_AUTH} or --auth-file", flush=True)
    if log is not None:
        print(f"问题记录 / Logging questions to {log.path}", flush=True)
    if not runs.allowed:
        print(f"评测 / Evaluate: {runs.why_not}", flush=True)
    print("按 Ctrl+C 停止 / Press Ctrl+C to stop", flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
        if uploads is not None:
            shutil.rmtree(uploads, ignore_errors=True)
    return 0


LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024 + 64 * 1024  # Gradio's 5 MB per file, plus the form around it
EVAL_NEEDS_LOGIN = ("评测需要登录：此服务器可从其他电脑访问。 · Evaluate needs a login on a server other computers can "
                    f"reach: set {ENV_AUTH} or --auth-file.")


def _private_upload_folder() -> Path | None:
    """Gradio's folder for uploads and the files it serves: a private one of this server's (0700, removed when it
    stops) unless GRADIO_TEMP_DIR names one. Gradio reads the variable when it stores a file."""
    if os.environ.get("GRADIO_TEMP_DIR"):
        return None
    folder = Path(tempfile.mkdtemp(prefix="duty-assistant-web-"))
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder


def question_problem(assistant):
    """question → why it cannot be searched (the assistant's own rule and message), or None; for the API check."""

    def check(question: str) -> str | None:
        try:
            assistant.retriever.analyse(question)
        except DutyAssistantError as err:
            return str(err)
        return None

    return check
