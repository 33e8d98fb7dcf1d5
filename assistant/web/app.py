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
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path


from assistant.answer import Answer, Card, card as make_card, escape, labels_for, render_text  # noqa: E402
from assistant.domain import Duty, Hit, ListKind  # noqa: E402
from assistant.settings import current  # noqa: E402

ENV_AUTH = "DUTY_ASSISTANT_AUTH"
DEFAULT_CONCURRENCY = 4  # questions answered at once; the rest wait in Gradio's queue
MAX_K = 10
MAX_EVAL_QUESTIONS = 2000
ALL = "__all__"

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

# UI labels beyond those of assistant.answer (same zh/en split: English when the question is English).
UI_LABELS = {
    "zh": {
        "copy": "复制答复",
        "copied": "已复制",
        "copy_failed": "复制失败，请手动选择文字",
        "full_entry": "查看完整条目",
        "matched_steps": "匹配的内容",
        "leads": "牵头",
        "takes_over": "承接",
        "has_steps": "涉及其职责",
        "error": "无法检索",
        "no_duties": "没有符合条件的事项。",
        "unknown_duty": "没有这个编号的事项",
    },
    "en": {
        "copy": "Copy answer",
        "copied": "Copied",
        "copy_failed": "Copy failed; select the text by hand",
        "full_entry": "Show the full entry",
        "matched_steps": "What matched",
        "leads": "leads",
        "takes_over": "took it over",
        "has_steps": "has steps in it",
        "error": "Cannot search",
        "no_duties": "No duty matches.",
        "unknown_duty": "No duty has this id",
    },
}

# How each list's group is introduced on the Departments tab.
DEPARTMENT_GROUPS = {
    "basic": ("基本履职事项（本镇负责，涉及该部门）", "Basic duties (the town's own, mentioning this body)"),
    "coop": ("配合履职事项（该部门牵头或参与，本镇配合）", "Cooperative duties (this body leads or takes part; the town assists)"),
    "reclaimed": ("上级部门收回事项（该部门承接，本镇不再承担）", "Reclaimed duties (this body took them over from the town)"),
}

SIDE_HEADINGS = (("upper", "upper_steps"), ("town", "town_steps"), ("receiver", "receiver_steps"))


def ui_labels(lang: str) -> dict:
    return UI_LABELS["en" if lang == "en" else "zh"]


# -- HTML (presentation only: every piece of text goes through escape()) --------------------------------


def _text(text: str) -> str:
    """Escaped text, line breaks kept (and no raw newline left, so a chat message stays one HTML block)."""
    return escape(text or "").replace("\r\n", "\n").replace("\n", "<br>")


def _attr(text: str) -> str:
    """Escaped attribute value; newlines as character references."""
    return escape(text or "").replace("\r\n", "\n").replace("\n", "&#10;")


def _display(registry, name: str | None) -> str:
    if not name:
        return ""
    return registry.display(name) if registry is not None else name


def _people_html(card: Card, lang: str) -> str:
    """The responsible bodies the way staff say them, with the full name beside (English name for English)."""
    if card.list == "basic" or not card.responsible:
        return ""
    lab = labels_for(lang)
    heading = lab["receiver"] if card.list == "reclaimed" else lab["lead"]
    parts = []
    for p in card.responsible:
        full = p.get("name", "")
        shown = p.get("display") or full
        extra = p.get("en") if lang == "en" and p.get("en") else (full if full != shown else "")
        parts.append(f'<span class="da-body">{escape(shown)}</span>'
                     + (f' <span class="da-full">（{escape(extra)}）</span>' if extra else ""))
    return f'<div class="da-people"><span class="da-k">{escape(heading)}：</span>{"、".join(parts)}</div>'


def _steps_html(card: Card, lang: str, registry=None) -> str:
    lab = labels_for(lang)
    blocks = []
    for side, key in SIDE_HEADINGS:
        steps = [s for s in card.steps if s.side == side]
        if not steps:
            continue
        heading = lab["clauses"] if card.list == "basic" else lab[key]
        items = []
        for s in steps:
            dept = _display(registry, s.department) if s.department and side != "town" else ""
            cls = "da-step da-hit" if s.matched else "da-step"
            mark = '<span class="da-star" title="matched">★</span> ' if s.matched else ""
            items.append(f'<li class="{cls}" value="{int(s.order)}">{mark}'
                         + (f'<span class="da-dept">[{escape(dept)}]</span> ' if dept else "")
                         + f"{_text(s.text)}</li>")
        blocks.append(f'<div class="da-side da-side-{side}"><div class="da-k">{escape(heading)}</div>'
                      f'<ol class="da-steps">{"".join(items)}</ol></div>')
    return "".join(blocks)


OPEN_IF_SHORTER = 320  # an answer card opens its full entry when the entry is this short (in characters)


def card_html(card: Card, lang: str = "zh", *, registry=None, expanded: bool | None = None,
              show_score: bool = True, compact: bool | None = None) -> str:
    """One duty card: citation, the responsibility line (prominent), matched steps, the full entry in <details>.

    `expanded` opens the full entry (the Browse tab); by default only a short answer card opens it. Related
    cards are compact (their responsibility line already names the bodies)."""
    lab, ui = labels_for(lang), ui_labels(lang)
    if compact is None:
        compact = card.role in ("related", "possibly_related")
    if expanded is None:
        expanded = card.role == "answer" and sum(len(s.text) for s in card.steps) <= OPEN_IF_SHORTER
    head = (f'<div class="da-head"><span class="da-badge da-badge-{escape(card.list)}">{escape(card.list_label)}</span>'
            f'<span class="da-cite">{escape(card.citation)}</span><span class="da-id">{escape(card.id)}</span></div>')
    resp = f'<div class="da-resp da-resp-{escape(card.list)}">▶ {escape(card.responsibility)}</div>'
    meta = f'<div class="da-meta"><span class="da-k">{escape(lab["category"])}：</span>{escape(card.category)}'
    if show_score and card.score:
        meta += f' · <span class="da-score">{escape(lab["score"])} {card.score:.2f}</span>'
    meta += "</div>"
    matched = ""
    if card.matched_steps and not expanded:
        items = "".join(
            f'<li class="da-step da-hit" value="{int(s.order)}"><span class="da-star">★</span> '
            + (f'<span class="da-dept">[{escape(_display(registry, s.department))}]</span> '
               if s.department and s.side != "town" else "")
            + f"{_text(s.text)}</li>"
            for s in card.matched_steps
        )
        matched = (f'<div class="da-matched"><div class="da-k">{escape(ui["matched_steps"])}</div>'
                   f'<ol class="da-steps">{items}</ol></div>')
    steps = _steps_html(card, lang, registry)
    full = ""
    if steps:
        full = (f'<details class="da-full-entry"{" open" if expanded else ""}>'
                f'<summary>{escape(ui["full_entry"])}</summary>{steps}</details>')
    classes = f"da-card da-role-{escape(card.role)} da-list-{escape(card.list)}" + (" da-compact" if compact else "")
    return (f'<div class="{classes}" data-id="{_attr(card.id)}">'
            f"{head}{resp}{'' if compact else _people_html(card, lang)}{meta}{matched}{full}</div>")


def question_html(question: str) -> str:
    """The user's text shown back in the chat: escaped, never rendered as HTML."""
    return f'<div class="da-question">{_text(question)}</div>'


def copy_button_html(text: str, lang: str) -> str:
    """A copy button and, hidden beside it, the plain text it copies (the chat strips data-* attributes and
    scripts, so the page's one click listener reads the text from the <pre>)."""
    ui = ui_labels(lang)
    return (f'<button type="button" class="da-copy"><span class="da-copy-label">{escape(ui["copy"])}</span>'
            f'<span class="da-copy-done">✓ {escape(ui["copied"])}</span>'
            f'<span class="da-copy-fail">{escape(ui["copy_failed"])}</span></button>'
            f'<pre class="da-plain" aria-hidden="true">{escape(text)}</pre>')


def answer_html(answer: Answer, registry=None) -> str:
    """The assistant's chat message: the fixed sentence first, then the answer card, then related ones."""
    lab = labels_for(answer.lang)
    parts = ['<div class="da-answer">']
    if answer.notice:
        parts.append(f'<div class="da-notice">! {escape(answer.notice)}</div>')
    parts.append(f'<div class="da-message{"" if answer.answered else " da-not-found"}">{escape(answer.message)}</div>')
    for number, c in enumerate(answer.cards):
        if number == 1 and answer.answered:
            parts.append(f'<div class="da-subhead">{escape(lab["related"])}</div>')
        elif number == 0 and not answer.answered:
            parts.append(f'<div class="da-subhead">{escape(lab["possibly_related"])}</div>')
        parts.append(card_html(c, answer.lang, registry=registry))
    parts.append(f'<div class="da-tools">{copy_button_html(render_text(answer), answer.lang)}</div>')
    parts.append("</div>")
    return "".join(parts)


def error_html(message: str, lang: str = "zh") -> str:
    return f'<div class="da-error">⚠ {_text(message)}</div>'


def duty_card(duty: Duty, registry, lang: str = "zh") -> Card:
    """A duty as an (unscored) entry card, built by assistant.answer like every answer card."""
    return make_card(Hit(duty, 0.0, []), "entry", registry, lang)


def duty_html(duty: Duty, registry, lang: str = "zh") -> str:
    return card_html(duty_card(duty, registry, lang), lang, registry=registry, expanded=True, show_score=False)


# -- browsing (pure functions over the loaded data) -----------------------------------------------------

TABLE_HEADERS = ["编号 id", "清单 list", "事项类别 category", "事项名称 title", "上级部门 county bodies"]
LIST_SHORT = {"basic": "基本", "coop": "配合", "reclaimed": "收回"}


def _duty_haystack(duty: Duty, registry) -> str:
    names = []
    for name in set(duty.departments) | {s.department for s in duty.steps if s.department}:
        names.append(name)
        dept = registry.departments.get(name)
        if dept:
            names += [*dept.short, *dept.aliases, dept.en]
    return "\n".join([duty.id, duty.title, duty.category, *(s.text for s in duty.steps), *names]).lower()


def filter_duties(duties: list[Duty], registry, list_value: str | None = None, category: str | None = None,
                  text: str | None = None) -> list[Duty]:
    """Duties of one list and/or category whose text (title, steps, body names) contains every search word."""
    out = []
    words = [w for w in re.split(r"\s+", (text or "").strip().lower()) if w]
    for duty in duties:
        if list_value and list_value != ALL and duty.list.value != list_value:
            continue
        if category and category != ALL and duty.category != category:
            continue
        if words:
            hay = _duty_haystack(duty, registry)
            if not all(w in hay for w in words):
                continue
        out.append(duty)
    return out


def duty_rows(duties: list[Duty], registry) -> list[list]:
    return [[d.id, LIST_SHORT[d.list.value], d.category, d.title, "、".join(registry.display(n) for n in d.departments)]
            for d in duties]


def department_choices(registry) -> list[tuple[str, str]]:
    """(label, canonical name) for the dropdowns: the short name staff use, the full name, the English name."""
    choices = []
    for name, dept in registry.departments.items():
        label = dept.display if dept.display == name else f"{dept.display}（{name}）"
        if dept.en:
            label += f" · {dept.en}"
        choices.append((label, name))
    return sorted(choices, key=lambda c: c[1])


def department_html(name: str, grouped: dict[str, list[Duty]], registry, lang: str = "zh") -> str:
    """Everything one county body leads, takes part in, or took back, grouped by list."""
    dept = registry.departments.get(name)
    shown = registry.display(name)
    ui = ui_labels(lang)
    total = sum(len(v) for v in grouped.values())
    title = escape(shown) + (f' <span class="da-full">（{escape(name)}）</span>' if shown != name else "")
    en = f" · {escape(dept.en)}" if dept and dept.en else ""
    parts = [f'<div class="da-dept-page"><h3 class="da-dept-title">{title}</h3>'
             f'<div class="da-meta">共 {total} 项 · {total} duties{en}</div>']
    for kind in ListKind:
        duties = grouped.get(kind.value, [])
        if not duties:
            continue
        zh, en_label = DEPARTMENT_GROUPS[kind.value]
        parts.append(f'<h4 class="da-group">{escape(zh)} · {escape(en_label)} <span class="da-count">{len(duties)}</span></h4>')
        for duty in duties:
            if kind is ListKind.RECLAIMED and name in duty.departments:
                role = ui["takes_over"]
            elif name in duty.departments:
                role = ui["leads"]
            else:
                role = ui["has_steps"]
            card = duty_card(duty, registry, lang)
            note = f'<div class="da-role-note">{escape(shown)} {escape(role)}</div>' if role == ui["has_steps"] else ""
            parts.append(note + card_html(card, lang, registry=registry, show_score=False, compact=True))
    if total == 0:
        parts.append(f'<div class="da-message">{escape(ui["no_duties"])}</div>')
    parts.append("</div>")
    return "".join(parts)


# -- evaluation tables ----------------------------------------------------------------------------------


def _num(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def metrics_table(metrics) -> tuple[list[str], list[list[str]]]:
    """The overall metrics of one run as one table row."""
    from assistant.evaluation.metrics import METRIC_NAMES, METRICS

    headers = ["questions", "answerable", *(METRIC_NAMES[m] for m in METRICS), "out-of-scope declined",
               "wrongly declined", "p50 ms", "p95 ms"]
    row = [str(metrics.n), str(metrics.overall.get("n", "")), *(_num(metrics.overall.get(m)) for m in METRICS),
           _num(metrics.declined_out_of_scope), _num(metrics.wrongly_declined),
           _num(metrics.latency_ms.get("p50"), 0), _num(metrics.latency_ms.get("p95"), 0)]
    return headers, [row]


def breakdown_table(metrics) -> tuple[list[str], list[list[str]]]:
    """Top-1 and recall@5 by style, language and list."""
    rows = []
    for kind in ("style", "lang", "list"):
        for group, values in metrics.by.get(kind, {}).items():
            rows.append([kind, group, str(values.get("n", "")), _num(values.get("hit_rate@1")),
                         _num(values.get("recall@5"))])
    return ["by", "group", "n", "top-1", "recall@5"], rows


def failures_table(metrics) -> tuple[list[str], list[list]]:
    rows = [[f["id"], f["style"], f["question"], ", ".join(f["expected"]) or "(decline)", ", ".join(f["got"]),
             "yes" if f["answered"] else "no"] for f in metrics.failures]
    return ["id", "style", "question", "expected", "got (top 3)", "answered"], rows


# -- credentials and the question log ------------------------------------------------------------------


def parse_credentials(text: str, where: str, separator: str = "\n") -> list[tuple[str, str]]:
    """`user:password` entries (blank lines and # comments skipped); a bad entry names its place, not its text."""
    pairs = []
    for number, entry in enumerate(text.split(separator), start=1):
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        user, sep, password = entry.partition(":")
        if not sep or not user.strip() or not password:
            raise ValueError(f"{where}: entry {number} is not `user:password`")
        pairs.append((user.strip(), password))
    return pairs


def load_auth(env_value: str | None, auth_file: str | None) -> list[tuple[str, str]] | None:
    """Logins from DUTY_ASSISTANT_AUTH ("user:password", several separated by commas) and/or --auth-file."""
    pairs: list[tuple[str, str]] = []
    if env_value and env_value.strip():
        pairs += parse_credentials(env_value, ENV_AUTH, separator=",")
    if auth_file:
        path = Path(auth_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise ValueError(f"cannot read --auth-file {path}: {err.strerror or err}") from None
        found = parse_credentials(text, f"--auth-file {path}")
        if not found:
            raise ValueError(f"--auth-file {path} has no `user:password` line")
        pairs += found
    return pairs or None


class QuestionLog:
    """Appends {time, question, answered, top} as JSON lines, only when --log-questions FILE is given."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, question: str, answer: Answer | None) -> None:
        row = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "question": question,
            "answered": bool(answer and answer.answered),
            "top": answer.cards[0].id if answer and answer.cards else None,
        }
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)


# -- the app --------------------------------------------------------------------------------------------

CSS = """
.da-answer, .da-dept-page, .da-entry { display: flex; flex-direction: column; gap: 10px; max-width: 100%; }
.da-card { border: 1px solid #d0d7de; border-radius: 10px; padding: 12px 14px; background: #fff; color: #1f2328;
  box-sizing: border-box; max-width: 100%; overflow-wrap: anywhere; word-break: break-word; line-height: 1.55; }
.da-role-answer { border: 2px solid #1f6feb; box-shadow: 0 1px 4px rgba(31,111,235,.15); }
.da-role-related, .da-role-possibly_related { background: #fbfcfd; }
.da-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 10px; }
.da-badge { font-size: .78em; padding: 1px 8px; border-radius: 999px; white-space: nowrap; color: #fff; background: #57606a; }
.da-badge-basic { background: #1a7f37; } .da-badge-coop { background: #9a6700; } .da-badge-reclaimed { background: #cf222e; }
.da-cite { font-weight: 600; }
.da-id { color: #57606a; font-size: .85em; font-family: ui-monospace, monospace; }
.da-resp { margin: 8px 0 4px; padding: 6px 10px; border-radius: 6px; font-size: 1.12em; font-weight: 700;
  background: #f1f8ff; border-left: 5px solid #1f6feb; }
.da-resp-basic { background: #eefbf1; border-left-color: #1a7f37; }
.da-resp-coop { background: #fff8e5; border-left-color: #bf8700; }
.da-resp-reclaimed { background: #fff0f0; border-left-color: #cf222e; }
.da-people, .da-meta { color: #424a53; font-size: .92em; margin: 2px 0; }
.da-full { color: #6e7781; font-size: .92em; }
.da-k { font-weight: 600; color: #424a53; }
.da-steps { margin: 4px 0 6px; padding-left: 1.6em; }
.da-step { margin: 2px 0; }
.da-hit { background: #fff8c5; border-radius: 4px; padding: 1px 4px; }
.da-star { color: #bf8700; }
.da-dept { color: #0550ae; }
.da-matched { margin-top: 6px; }
.da-full-entry { margin-top: 6px; }
.da-full-entry summary { cursor: pointer; color: #0969da; font-weight: 600; }
.da-side { margin-top: 6px; }
.da-message { font-weight: 600; font-size: 1.05em; }
.da-not-found { color: #1f2328; background: #f6f8fa; border: 1px dashed #afb8c1; border-radius: 8px; padding: 8px 12px; }
.da-subhead { margin-top: 6px; font-weight: 600; color: #57606a; }
.da-notice { color: #9a6700; }
.da-error { color: #cf222e; font-weight: 600; }
.da-question { white-space: normal; overflow-wrap: anywhere; }
.da-tools { display: flex; justify-content: flex-end; }
.da-plain { display: none !important; }
.da-copy .da-copy-done, .da-copy .da-copy-fail { display: none; }
.da-copy.is-done .da-copy-label, .da-copy.is-failed .da-copy-label { display: none; }
.da-copy.is-done .da-copy-done, .da-copy.is-failed .da-copy-fail { display: inline; }
.da-compact { padding: 8px 12px; font-size: .95em; }
.da-compact .da-resp { font-size: 1em; padding: 3px 8px; margin: 6px 0 2px; }
.da-compact .da-cite { font-weight: 500; }
.da-compact .da-full-entry { margin-top: 2px; }
.da-copy { cursor: pointer; border: 1px solid #d0d7de; border-radius: 6px; background: #f6f8fa; color: #24292f;
  padding: 3px 10px; font-size: .88em; }
.da-copy:hover { background: #eaeef2; }
.da-group { margin: 14px 0 4px; font-size: 1.02em; }
.da-count { display: inline-block; min-width: 1.6em; text-align: center; border-radius: 999px; background: #eaeef2;
  padding: 0 6px; font-size: .85em; }
.da-dept-title { margin: 0; font-size: 1.25em; }
.da-dept-page .da-card { margin-bottom: 6px; }
.gradio-container :is(.header-table, .virtual-row, table :is(td, th)),
.gradio-container :is(.virtual-row, table :is(td, th)) * { font-family: var(--font) !important; }
.da-role-note { font-size: .85em; color: #57606a; margin: 6px 0 -6px 2px; }
.da-intro { color: #57606a; }
@media (max-width: 820px) {
  .da-card { padding: 10px; }
  .da-resp { font-size: 1.04em; }
}
"""

# A copy button inside a chat message cannot carry its own script (the chat sanitises HTML), so one
# document-level listener copies the plain text stored in the button's data-copy attribute.
HEAD = """
<meta name="viewport" content="width=device-width, initial-scale=1">
<script>
document.addEventListener("click", function (event) {
  var button = event.target && event.target.closest ? event.target.closest(".da-copy") : null;
  if (!button) return;
  event.preventDefault();
  var box = button.closest(".da-answer");
  var source = box ? box.querySelector(".da-plain") : null;
  var text = source ? source.textContent : "";
  function done(ok) {
    button.classList.remove("is-done", "is-failed");
    button.classList.add(ok ? "is-done" : "is-failed");
    setTimeout(function () { button.classList.remove("is-done", "is-failed"); }, 1800);
  }
  function fallback() {
    var area = document.createElement("textarea");
    area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area); area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area); done(ok);
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
  } else { fallback(); }
});
</script>
"""

# The chat scrolls so that the latest question sits at the top and its answer card below it (Gradio's own
# autoscroll would show the end of a long answer: the last related item instead of the answer).
SCROLL_TO_LAST_QUESTION = """
() => {
  const go = () => {
    const chat = document.querySelector("#da-chat");
    if (!chat) return;
    const questions = chat.querySelectorAll(".da-question");
    const last = questions[questions.length - 1];
    if (!last) return;
    let box = last.parentElement;
    while (box && box !== chat.parentElement) {
      const style = getComputedStyle(box);
      if (/(auto|scroll)/.test(style.overflowY) && box.scrollHeight > box.clientHeight) break;
      box = box.parentElement;
    }
    if (!box || box === chat.parentElement) return;
    box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 24;
  };
  [50, 250, 700].forEach((t) => setTimeout(go, t));
}
"""

FONTS = ["system-ui", "-apple-system", "Segoe UI", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei",
         "WenQuanYi Micro Hei", "sans-serif"]


def _theme():
    import gradio as gr

    # Only local fonts: a default theme would ask Google Fonts for them, and the app must work offline.
    return gr.themes.Soft(font=FONTS, font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


def _clamp_k(k) -> int:
    try:
        return max(1, min(MAX_K, int(k)))
    except (TypeError, ValueError):
        return 5


def _opt(value) -> str | None:
    return None if value in (None, "", ALL) else value


def build_app(assistant, log: QuestionLog | None = None):
    """The Gradio Blocks over one loaded Assistant (shared by every session)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # read by gradio at import: nothing leaves the machine
    import gradio as gr
    import pandas as pd

    from assistant.errors import EvalError
    from assistant.evaluation.report import chart, markdown
    from assistant.evaluation.questions import load_questions, run_questions, write_run
    from assistant.evaluation.metrics import score
    from assistant.search.query import QuestionError

    data = assistant.data
    registry = data.registry
    categories = assistant.categories()
    known_ids = {d.id for d in data.duties}
    list_choices = [("全部 · All", ALL)] + [(f"{k.zh} · {k.en}", k.value) for k in ListKind]
    category_choices = [("全部 · All", ALL)] + [(c, c) for c in categories]
    dept_choices = department_choices(registry)

    def ask(question, k=5, list_value=None, department=None, category=None) -> Answer:
        question = "" if question is None else str(question)  # the API takes whatever JSON a client sends
        answer = assistant.ask(question, k=_clamp_k(k), list=_opt(list_value), department=_opt(department),
                               category=_opt(category))
        if log is not None:
            log.write(question, answer)
        return answer

    # -- handlers ----------------------------------------------------------------------------------

    def add_question(question, history):
        """Show the question at once (escaped) and clear the box; the answer follows."""
        question = question or ""
        shown = question_html(question) if question.strip() else '<div class="da-question">…</div>'
        return list(history or []) + [{"role": "user", "content": shown}], "", question

    def respond(question, history, list_value, category, department, k):
        history = list(history or [])
        question = question or ""
        try:
            answer = ask(question, k, list_value, department, category)
            reply = answer_html(answer, registry)
        except QuestionError as err:
            reply = error_html(str(err))
        except ValueError as err:  # an unknown filter value; the message lists the choices
            reply = error_html(str(err))
        history.append({"role": "assistant", "content": reply})
        return history

    def api_ask(question: str, k: int = 5) -> dict:
        """Answer a question from the town's duty list. Returns Answer.to_json(): question, answered, message,
        notice and results (id, title, list, category, citation, role, score, responsibility, responsible,
        matched_steps), best first. k: how many duties to return (1-10, default 5)."""
        try:
            return ask(question, k).to_json()
        except ValueError as err:  # QuestionError is a ValueError: the message says what to type
            raise gr.Error(str(err), print_exception=False) from None

    def browse(list_value, category, text):
        found = filter_duties(data.duties, registry, list_value, category, text)
        frame = pd.DataFrame(duty_rows(found, registry), columns=TABLE_HEADERS)
        return frame, f"显示 {len(found)} / {len(data.duties)} 项 · showing {len(found)} of {len(data.duties)} duties"

    def show_duty(duty_id):
        duty_id = (duty_id or "").strip().lower().replace(" ", "")
        if not duty_id:
            return ""
        try:
            duty = assistant.duty(duty_id)
        except KeyError as err:
            return error_html(err.args[0] if err.args else str(err))
        return duty_html(duty, registry)

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

    def show_department(name):
        if not name:
            return '<div class="da-intro">请选择一个县级部门。 · Choose a county body.</div>'
        try:
            grouped = assistant.duties_of(name)
        except ValueError as err:
            return error_html(str(err))
        return department_html(registry.resolve(name) or name, grouped, registry)

    warmed = threading.Event()

    def warm_up_scoring():
        """The first ranx call compiles its metrics (numba, ~20-40 s): do it once, in the background, when
        someone opens the Evaluate tab, not while they wait for their results."""
        if warmed.is_set():
            return
        warmed.set()

        def work():
            try:
                from assistant.evaluation.questions import Question, RunRow

                qs = [Question("w1", "w", ("basic-1",)), Question("w2", "w", ())]
                score("warm-up", qs, {"w1": RunRow("w1", ["basic-1"], True, 0.0), "w2": RunRow("w2", [], False, 0.0)})
            except Exception:  # noqa: BLE001 - only a warm-up
                pass

        threading.Thread(target=work, name="ranx-warm-up", daemon=True).start()

    def evaluate(file, progress=gr.Progress(track_tqdm=True)):
        empty = (None, None, None, None, None)
        if file is None:
            return ("⚠ 请先上传问题文件（JSON Lines）。 · Upload a question file (JSON Lines) first.",) + empty
        path = Path(file if isinstance(file, str) else getattr(file, "name", file))
        try:
            questions = load_questions(path, known_ids)
        except EvalError as err:
            message = str(err).replace(str(path), path.name)
            return (f"⚠ 问题文件有误 · Bad question file: {message}",) + empty
        if len(questions) > MAX_EVAL_QUESTIONS:
            return (f"⚠ 问题太多（{len(questions)}）；最多 {MAX_EVAL_QUESTIONS} 个。 · "
                    f"Too many questions ({len(questions)}); at most {MAX_EVAL_QUESTIONS}.",) + empty
        start = time.perf_counter()
        rows = run_questions(assistant, questions, progress=True)
        progress(0.99, desc="scoring")
        metrics = score("uploaded", questions, {r.id: r for r in rows})
        seconds = time.perf_counter() - start
        out = Path(tempfile.mkdtemp(prefix="duty-eval-"))
        stem = re.sub(r"[^\w.-]+", "_", path.stem) or "questions"
        report_path = out / f"{stem}-report.md"
        report_path.write_text(markdown([metrics], f"{path.name} ({len(questions)} questions)"), encoding="utf-8")
        chart_path = out / f"{stem}-top1-by-style.png"
        chart([metrics], chart_path, f"Top-1 by style — {path.name}")
        run_path = out / f"{stem}-run.jsonl"
        write_run(run_path, rows)
        headers, values = metrics_table(metrics)
        b_headers, b_values = breakdown_table(metrics)
        f_headers, f_values = failures_table(metrics)
        status = (f"✓ {path.name}: {len(questions)} 个问题，用时 {seconds:.1f} 秒；失败 {len(metrics.failures)} 个。 · "
                  f"{len(questions)} questions in {seconds:.1f} s; {len(metrics.failures)} failures.")
        return (status, pd.DataFrame(values, columns=headers), str(chart_path),
                pd.DataFrame(b_values, columns=b_headers), pd.DataFrame(f_values, columns=f_headers),
                [str(run_path), str(report_path)])

    # -- layout ------------------------------------------------------------------------------------

    with gr.Blocks(title="Duty Assistant · 履职事项助手", analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        gr.Markdown(
            "## 履职事项助手 · Duty Assistant\n"
            f"谁来办？答案全部来自本镇的三张履职事项清单（{len(data.duties)} 项），并注明出处。 · "
            "Who handles this? Every answer comes from the town's official duty lists, with its citation.",
            elem_classes=["da-intro"],
        )
        with gr.Tabs():
            with gr.Tab("问答 · Ask", id="ask"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=480):  # narrower screens: the filters go below
                        chat = gr.Chatbot(
                            label="对话 · Chat", show_label=False, elem_id="da-chat", height=600, render_markdown=False,
                            sanitize_html=True, allow_tags=False, latex_delimiters=[], feedback_options=None,
                            buttons=[], autoscroll=False,
                            placeholder="请输入问题，例如“谁管流浪狗”。 · Ask a question, e.g. “who handles stray dogs”.",
                        )
                        with gr.Row():
                            question = gr.Textbox(
                                show_label=False, placeholder="输入问题后按回车 · Type a question and press Enter",
                                elem_id="da-question", scale=5, min_width=200, max_length=4000, autofocus=True,
                            )
                            send = gr.Button("提问 · Ask", variant="primary", scale=1, min_width=90, elem_id="da-send")
                            clear = gr.Button("清空 · Clear", scale=1, min_width=90)
                        examples = gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[question],
                                               label="示例问题 · Example questions", examples_per_page=len(EXAMPLES))
                    with gr.Column(scale=1, min_width=240):
                        gr.Markdown("**筛选 · Filters**")
                        f_list = gr.Dropdown(list_choices, value=ALL, label="清单 · List")
                        f_category = gr.Dropdown(category_choices, value=ALL, label="事项类别 · Category")
                        f_dept = gr.Dropdown([("全部 · All", ALL)] + dept_choices, value=ALL,
                                             label="县级部门 · County body")
                        f_k = gr.Slider(1, MAX_K, value=5, step=1, label="显示条数 · Cards shown")
                asked = gr.State("")
                for trigger in (question.submit, send.click, examples.load_input_event.then):
                    (trigger(add_question, [question, chat], [chat, question, asked], api_visibility="private",
                             queue=False)
                     .then(None, js=SCROLL_TO_LAST_QUESTION)
                     .then(respond, [asked, chat, f_list, f_category, f_dept, f_k], [chat], api_visibility="private")
                     .then(None, js=SCROLL_TO_LAST_QUESTION))
                clear.click(lambda: ([], ""), None, [chat, question], api_visibility="private", queue=False)

            with gr.Tab("浏览 · Browse", id="browse"):
                with gr.Row():
                    b_list = gr.Dropdown(list_choices, value=ALL, label="清单 · List", min_width=200, elem_id="da-browse-list")
                    b_category = gr.Dropdown(category_choices, value=ALL, label="事项类别 · Category", min_width=200)
                    b_text = gr.Textbox(label="搜索 · Search", placeholder="关键词、部门、编号 · words, body, id",
                                        min_width=200, elem_id="da-browse-search")
                b_count = gr.Markdown()
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=420):
                        table = gr.Dataframe(
                            headers=TABLE_HEADERS, interactive=False, wrap=True, max_height=620, elem_id="da-table",
                            column_widths=["12%", "9%", "15%", "44%", "20%"],
                        )
                    with gr.Column(scale=2, min_width=320):
                        with gr.Row():
                            b_id = gr.Textbox(label="按编号查看 · Show by id", placeholder="coop-19, basic-43, reclaimed-2",
                                              min_width=160, scale=3, elem_id="da-browse-id")
                            b_show = gr.Button("查看 · Show", scale=1, min_width=80)
                        b_card = gr.HTML('<div class="da-intro">点选表格中的一行，或输入编号。 · '
                                         'Choose a row in the table, or type an id.</div>', elem_id="da-browse-card")
                for trigger in (b_list.change, b_category.change, b_text.change):
                    trigger(browse, [b_list, b_category, b_text], [table, b_count], api_visibility="private",
                            queue=False)
                table.select(select_row, [table], [b_id, b_card], api_visibility="private")
                b_id.submit(show_duty, [b_id], [b_card], api_visibility="private")
                b_show.click(show_duty, [b_id], [b_card], api_visibility="private")

            with gr.Tab("部门 · Departments", id="departments"):
                d_name = gr.Dropdown(dept_choices, value=None, label="县级部门 · County body",
                                     info="该部门牵头、参与或承接的全部事项 · everything it leads, takes part in, or took over",
                                     elem_id="da-dept")
                d_html = gr.HTML(show_department(None), elem_id="da-dept-html")
                d_name.change(show_department, [d_name], [d_html], api_visibility="private")

            with gr.Tab("评测 · Evaluate", id="evaluate") as eval_tab:
                gr.Markdown(
                    "上传问题文件（JSON Lines，每行 `{\"id\", \"question\", \"relevant\": [duty ids]}`；"
                    "`relevant` 为空表示清单无法回答、应当拒答），得到指标、按风格的图表、失败的问题和运行文件。 · "
                    "Upload a question file in the evaluator's format to get the metrics, a chart by style, "
                    "the failures and the run file."
                )
                with gr.Row():
                    e_file = gr.File(label="问题文件 · Question file (.jsonl)", file_types=[".jsonl", ".json", ".txt"],
                                     elem_id="da-eval-file", min_width=240)
                    e_run = gr.Button("运行评测 · Run evaluation", variant="primary", elem_id="da-eval-run")
                e_status = gr.Markdown(elem_id="da-eval-status")
                e_table = gr.Dataframe(label="指标 · Metrics", interactive=False, elem_id="da-eval-table")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=320):
                        e_chart = gr.Image(label="按风格的 top-1 · Top-1 by style", show_label=False, type="filepath",
                                           interactive=False, elem_id="da-eval-chart", height=330)
                    with gr.Column(scale=2, min_width=280):
                        e_breakdown = gr.Dataframe(label="分组 · Breakdown", interactive=False, max_height=330)
                e_failures = gr.Dataframe(label="失败的问题 · Failures", interactive=False, wrap=True, max_height=400,
                                          elem_id="da-eval-failures")
                e_out = gr.File(label="运行文件与报告 · Run file and report", file_count="multiple", interactive=False,
                                elem_id="da-eval-out")
                e_run.click(evaluate, [e_file], [e_status, e_table, e_chart, e_breakdown, e_failures, e_out],
                            api_visibility="private", concurrency_limit=1)
                eval_tab.select(warm_up_scoring, None, None, api_visibility="private", queue=False)

        gr.api(api_ask, api_name="ask")
        demo.load(browse, [b_list, b_category, b_text], [table, b_count], api_visibility="private", queue=False)
    return demo


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
    from assistant.cli import config_from

    config = config_from(args)
    auth = load_auth(current().auth, getattr(args, "auth_file", None))
    log = QuestionLog(args.log_questions) if getattr(args, "log_questions", None) else None
    host, port = args.host or "127.0.0.1", int(args.port)
    problem = port_problem(host, port)
    if problem:  # say so now, not after loading the model
        print(f"duty-assistant serve: error: cannot listen on {host}:{port} ({problem}); check --host and --port",
              file=sys.stderr)
        return 2

    print("正在加载模型和索引… / Loading model and index…", flush=True)
    start = time.perf_counter()
    assistant = Assistant.open(config=config, build=True)
    assistant.ask("谁管流浪狗")  # warm up (tokeniser, word lists) so the first user does not wait
    print(f"已加载 / Loaded: {len(assistant.data.duties)} duties, model {assistant.model_id}, "
          f"{time.perf_counter() - start:.1f} s", flush=True)

    import gradio as gr  # noqa: F401  (imported here so that a bad flag fails before the slow import)

    demo = build_app(assistant, log)
    demo.queue(default_concurrency_limit=DEFAULT_CONCURRENCY, max_size=64)
    try:
        demo.launch(
            server_name=host, server_port=port, share=bool(args.share), auth=auth,
            auth_message="请登录 · Please log in" if auth else None,
            prevent_thread_lock=True, quiet=True, show_error=False, inbrowser=False,
            footer_links=["api"], run_history=False, enable_monitoring=False, ssr_mode=False, pwa=False,
            mcp_server=False, max_file_size="5mb", theme=_theme(), css=CSS, head=HEAD,
        )
    except OSError as err:
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
    print("按 Ctrl+C 停止 / Press Ctrl+C to stop", flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
    return 0
