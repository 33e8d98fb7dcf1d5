"""The web app's part of issue 15: feedback under the chat, the `/feedback` API, and the Review tab.

- Feedback: under the chat, right / wrong (with "the right duty is …", a search-as-you-type picker) / "the
  list does not cover this", for the session's latest answer (its id is remembered server side by session).
- `/feedback` API: (answer_id, mark, right_duty) → {"id", "mark", "right"}; `/ask` answers carry `answer_id`.
- Review tab: its own login (DUTY_ASSISTANT_REVIEW_AUTH), even when asking needs none. The queue grouped by
  nearest duty, the list update's report and orphaned similar questions, the actions (attach, not in the list,
  lexicon pair, dismiss, a duty's similar questions, orphans), each checked on the dev set first; a change
  that breaks dev questions lists them and needs the confirmation box ticked before Apply.
"""

from __future__ import annotations

import hmac
import html
import json
import re
import secrets
import threading
import time

from assistant.errors import DutyAssistantError, ReviewError

FAILED_LOGIN_DELAY_S = 1.0
MAX_SESSIONS = 4096


def note_answer(feedback, request, answer) -> None:
    """Remember the session's latest answer id (server side, by Gradio's session hash), for the feedback row."""
    if feedback is None or request is None or not getattr(answer, "answer_id", ""):
        return
    latest = feedback.__dict__.setdefault("latest_by_session", {})
    latest[getattr(request, "session_hash", "") or ""] = answer.answer_id
    while len(latest) > MAX_SESSIONS:
        latest.pop(next(iter(latest)))


def latest_answer_id(feedback, request) -> str:
    return feedback.__dict__.get("latest_by_session", {}).get(getattr(request, "session_hash", "") or "", "")


def duty_choices(duties) -> list[str]:
    return [f"{d.id} · {d.title[:40]}" for d in duties]


# -- feedback under the chat --------------------------------------------------------------------------------


def feedback_row(feedback, chat, duties) -> None:
    """The feedback controls for the latest answer in `chat` (call inside the Ask tab's layout)."""
    import gradio as gr

    if feedback is None or not feedback.enabled:
        return
    with gr.Row(elem_id="da-feedback"):
        gr.Markdown("**这个回答对吗？ · Was this answer right?**", elem_classes=["da-feedback-label"])
        right = gr.Button("✓ 对 · Right", size="sm", min_width=80, elem_id="da-fb-right")
        wrong_duty = gr.Dropdown(duty_choices(duties), value=None, label="正确的事项 · The right duty is",
                                 filterable=True, allow_custom_value=True, min_width=240, scale=3,
                                 elem_id="da-fb-duty")
        wrong = gr.Button("✗ 不对 · Wrong", size="sm", min_width=80, elem_id="da-fb-wrong")
        missing = gr.Button("清单没有这项 · Not in the list", size="sm", min_width=120, elem_id="da-fb-missing")
    status = gr.Markdown(elem_id="da-fb-status")

    def mark(kind):
        def handler(history, duty=None, request: gr.Request = None):
            answer_id = latest_answer_id(feedback, request)
            if not answer_id:
                return "⚠ 请先提问。 · Ask a question first."
            try:
                result = feedback.mark(answer_id, kind, duty if kind == "wrong" else None)
            except DutyAssistantError as err:
                return f"⚠ {html.escape(str(err))}"
            return f"✓ 已记录，谢谢。 · Recorded ({kind}{' → ' + result['right'] if result['right'] else ''}), thank you."
        handler.__annotations__["request"] = gr.Request  # this module uses string annotations
        return handler

    right.click(mark("right"), [chat], [status], api_visibility="private", queue=False)
    wrong.click(mark("wrong"), [chat, wrong_duty], [status], api_visibility="private", queue=False)
    missing.click(mark("not_in_list"), [chat], [status], api_visibility="private", queue=False)


def feedback_endpoint(feedback):
    """The `/feedback` API function."""
    import gradio as gr

    def api_feedback(answer_id: str, mark: str, right_duty: str = "") -> dict:
        """Mark an answer: answer_id (from /ask), mark = right | wrong | not_in_list, and for wrong optionally the
        right duty's id (e.g. coop-19). Returns {"id", "mark", "right"}."""
        if feedback is None:
            raise gr.Error("feedback is off on this server", print_exception=False)
        try:
            return feedback.mark(answer_id, mark, right_duty or None)
        except DutyAssistantError as err:
            raise gr.Error(str(err), print_exception=False) from None

    return api_feedback


# -- reviewers' logins ----------------------------------------------------------------------------------------


class ReviewerLogins:
    """The Review desk's own logins (DUTY_ASSISTANT_REVIEW_AUTH): a login gives a random token kept in the
    page's session state; every action checks the token here (server side), so a page cannot claim a login."""

    def __init__(self, pairs: list[tuple[str, str]] | None):
        self.pairs = pairs or []
        self.tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.pairs)

    def login(self, user: str, password: str) -> str:
        ok = any(hmac.compare_digest(u.encode(), (user or "").encode()) & hmac.compare_digest(p.encode(), (password or "").encode())
                 for u, p in self.pairs)
        if not ok:
            time.sleep(FAILED_LOGIN_DELAY_S)  # slows guessing
            raise ReviewError("wrong reviewer name or password")
        token = secrets.token_hex(16)
        with self._lock:
            self.tokens[token] = user
        return token

    def user(self, token: str | None) -> str:
        with self._lock:
            user = self.tokens.get(token or "")
        if not user:
            raise ReviewError("log in to the Review desk first")
        return user


# -- the Review tab -------------------------------------------------------------------------------------------


def _queue_rows(desk) -> tuple[list[list], str]:
    rows, lines = [], []
    for group in desk.queue():
        lines.append(f"- **{html.escape(group.duty_id or '（无相近事项）')}** {html.escape(group.title[:40])} — {group.count}")
        for item in group.items:
            rows.append([item["id"], group.duty_id, item["question"], item["tier"], item["mark"] or "",
                         item.get("right_id") or "", item["asked_at"][:16]])
    orphans = desk.orphans()
    if orphans:
        lines.append(f"\n**孤立的相似问 · Similar questions whose duty left the list: {len(orphans)}** "
                     "(action *attach orphans* / *drop orphans*, numbers = lines)")
        lines += [f"- line {o['_line']}: {html.escape(o['question'])} (was {o.get('old_id')}, nearest now "
                  f"{o.get('suggested_id') or '-'})" for o in orphans[:50]]
    return rows, "\n".join(lines) or "没有待审的问题。 · Nothing to review."


def _update_report(settings) -> str:
    folder = settings.updates
    reports = sorted(folder.glob("*.md"), key=lambda p: p.stat().st_mtime) if folder.exists() else []
    if not reports:
        return "没有待处理的清单更新。 · No list update report (`duty-assistant list update NEW.txt`)."
    return reports[-1].read_text(encoding="utf-8")


ACTIONS = [("挂为相似问 · attach as similar question", "attach"), ("清单没有 · not in the list", "out_of_scope"),
           ("词表 · lexicon pair", "lexicon"), ("忽略 · dismiss", "dismiss"),
           ("设置该事项的相似问 · set the duty's similar questions", "similar_set"),
           ("孤立相似问挂到事项 · attach orphans", "orphans_attach"), ("删除孤立相似问 · drop orphans", "orphans_drop")]


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text or "")]


def review_tab(desk, logins: ReviewerLogins, duties) -> None:
    """The Review tab (call inside the app's Tabs)."""
    import gradio as gr
    import pandas as pd

    headers = ["#", "nearest duty", "question", "tier", "mark", "right duty", "asked (UTC)"]

    with gr.Tab("审核 · Review", id="review"):
        token = gr.State("")
        pending = gr.State(None)
        if not logins.enabled or desk is None:
            gr.Markdown("审核台未开启：设置 `DUTY_ASSISTANT_REVIEW_AUTH=user:password` 后重启。 · The Review desk is "
                        "locked: set DUTY_ASSISTANT_REVIEW_AUTH=user:password (and keep feedback on) and restart.")
            return
        with gr.Row(elem_id="da-review-login"):
            user = gr.Textbox(label="审核员 · Reviewer", min_width=160, elem_id="da-review-user")
            password = gr.Textbox(label="密码 · Password", type="password", min_width=160, elem_id="da-review-password")
            login = gr.Button("登录 · Log in", min_width=100, elem_id="da-review-login-button")
        who = gr.Markdown(elem_id="da-review-who")
        with gr.Column(visible=False) as body:
            with gr.Row():
                refresh = gr.Button("刷新 · Refresh", size="sm", min_width=100, elem_id="da-review-refresh")
            groups = gr.Markdown(elem_id="da-review-groups")
            table = gr.Dataframe(headers=headers, interactive=False, wrap=True, max_height=360, elem_id="da-review-table")
            with gr.Row():
                action = gr.Radio(ACTIONS, value="attach", label="操作 · Action", elem_id="da-review-action")
            with gr.Row():
                items = gr.Textbox(label="条目编号 · Item numbers (or orphan lines)", placeholder="12, 15", min_width=160,
                                   elem_id="da-review-items")
                duty = gr.Dropdown(duty_choices(duties), value=None, label="事项 · Duty", filterable=True,
                                   allow_custom_value=True, min_width=260, elem_id="da-review-duty")
                text = gr.Textbox(label="问题（可修改）· Question as kept (optional)", min_width=240,
                                  elem_id="da-review-text")
            with gr.Row():
                everyday = gr.Textbox(label="词表：日常说法 · everyday word", min_width=160)
                official = gr.Textbox(label="清单用语 · list words (a|b)", min_width=160)
                source = gr.Textbox(label="来源 · source", min_width=160)
            similar = gr.Textbox(label="该事项的相似问（每行一个）· The duty's similar questions, one a line", lines=6,
                                 elem_id="da-review-similar")
            with gr.Row():
                check = gr.Button("检查 · Check on dev", variant="secondary", elem_id="da-review-check")
                confirm = gr.Checkbox(label="我已看过被影响的问题，仍然应用 · I have seen the broken questions; apply anyway",
                                      elem_id="da-review-confirm")
                apply = gr.Button("应用 · Apply", variant="primary", elem_id="da-review-apply")
            result = gr.Markdown(elem_id="da-review-result")
            with gr.Accordion("清单更新报告 · List update report", open=False):
                report = gr.Markdown(elem_id="da-review-report")

        def show(token_value):
            logins.user(token_value)
            rows, text_groups = _queue_rows(desk)
            return pd.DataFrame(rows, columns=headers), text_groups, _update_report(desk.settings)

        def do_login(name, secret):
            try:
                token_value = logins.login((name or "").strip(), secret or "")
            except ReviewError as err:
                return "", f"⚠ {err}", gr.update(visible=False), None, "", ""
            frame, text_groups, text_report = show(token_value)
            return token_value, f"已登录 · Logged in as **{html.escape(name)}**", gr.update(visible=True), frame, \
                text_groups, text_report

        def make_change(kind, numbers, duty_value, text_value, everyday_value, official_value, source_value,
                        similar_value, user_name):
            ids = _numbers(numbers)
            if kind == "attach":
                return desk.attach(ids, duty_value or "", text_value)
            if kind == "out_of_scope":
                return desk.out_of_scope(ids, text_value)
            if kind == "lexicon":
                return desk.lexicon(everyday_value, official_value or "", source_value, ids, user_name)
            if kind == "similar_set":
                return desk.set_similar(duty_value or "", (similar_value or "").splitlines())
            if kind == "orphans_attach":
                return desk.attach_orphans(ids, duty_value or "")
            if kind == "orphans_drop":
                return desk.drop_orphans(ids)
            raise ReviewError(f"unknown action {kind!r}")

        def do_check(token_value, kind, *values):
            try:
                user_name = logins.user(token_value)
                if kind == "dismiss":
                    return None, "忽略不改数据，直接应用。 · Dismissing changes no data: press Apply."
                change = make_change(kind, *values, user_name)
                impact = desk.check(change)
            except DutyAssistantError as err:
                return None, f"⚠ {html.escape(str(err))}"
            lines = [f"**{html.escape(change.describe())}**", "", html.escape(impact.summary())]
            if impact.broken:
                lines += ["", "**会出错的开发集问题 · Dev questions it breaks:**"]
                lines += [f"- {html.escape(r['id'])} {html.escape(r['question'])}: expected "
                          f"{', '.join(r['expected']) or 'not in list'}, was {r['before']} ({r['before_tier']}), "
                          f"now {r['after']} ({r['after_tier']})" for r in impact.broken[:30]]
                lines.append("\n需要勾选确认后再应用。 · Tick the confirmation box to apply it anyway.")
            return {"change": change, "impact": impact}, "\n".join(lines)

        def do_apply(token_value, proposal, confirmed, kind, numbers, reason_text):
            try:
                user_name = logins.user(token_value)
                if kind == "dismiss":
                    n = desk.dismiss(_numbers(numbers), user_name, reason_text or "")
                    message = f"✓ 已忽略 {n} 条 · dismissed {n}"
                else:
                    if not proposal:
                        raise ReviewError("press Check first: every change is checked on the dev set before it is applied")
                    outcome = desk.apply(proposal["change"], user_name, impact=proposal["impact"], confirmed=bool(confirmed))
                    message = (f"✓ 已应用 · Applied: {html.escape(outcome['audit']['what'])} — live in "
                               f"{outcome['live_s']:.2f} s")
            except DutyAssistantError as err:
                return proposal, f"⚠ {html.escape(str(err))}", gr.update(), gr.update()
            frame, text_groups, _ = show(token_value)
            return None, message, frame, text_groups

        def load_similar(token_value, duty_value, kind):
            if kind != "similar_set" or not duty_value:
                return gr.update()
            try:
                logins.user(token_value)
                found = desk.duty(duty_value)
            except DutyAssistantError:
                return gr.update()
            return "\n".join(desk.assistant.data.similar.get(found.id, []))

        values = [items, duty, text, everyday, official, source, similar]
        login.click(do_login, [user, password], [token, who, body, table, groups, report], api_visibility="private")
        password.submit(do_login, [user, password], [token, who, body, table, groups, report], api_visibility="private")
        refresh.click(lambda t: show(t), [token], [table, groups, report], api_visibility="private")
        check.click(do_check, [token, action, *values], [pending, result], api_visibility="private",
                    concurrency_limit=1)
        apply.click(do_apply, [token, pending, confirm, action, items, text], [pending, result, table, groups],
                    api_visibility="private", concurrency_limit=1)
        duty.change(load_similar, [token, duty, action], [similar], api_visibility="private")
        action.change(load_similar, [token, duty, action], [similar], api_visibility="private")


def similar_html(questions: list[str]) -> str:
    """A duty's similar questions under its card in Browse (read-only; reviewers edit them in the Review tab)."""
    if not questions:
        return ""
    items = "".join(f"<li>{html.escape(q)}</li>" for q in questions)
    return (f'<details class="da-similar"><summary>相似问 · Similar questions ({len(questions)})</summary>'
            f"<ul>{items}</ul></details>")


def json_dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def review_parts(assistant):
    """(feedback, desk, logins) for `serve`: feedback as DUTY_ASSISTANT_KEEP says; the desk (with its data
    watcher, so changes made elsewhere reach this server too) when reviewers are configured."""
    from assistant.review.desk import ReviewDesk
    from assistant.review.live import LiveData
    from assistant.state.feedback import Feedback
    from assistant.web.auth import parse_credentials

    settings = assistant.settings
    feedback = Feedback(assistant) if settings.keep != "off" else None
    live = LiveData(assistant).watch()
    logins = ReviewerLogins(parse_credentials(settings.review_auth, "DUTY_ASSISTANT_REVIEW_AUTH", separator=",")
                            if settings.review_auth else None)
    desk = None
    if logins.enabled and feedback is not None:
        desk = ReviewDesk(assistant, store=feedback.store, live=live)
        desk.warm()
    return feedback, desk, logins
