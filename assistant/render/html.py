"""Answers, duty cards, citizen slips and county-body pages as HTML for the web app. Pure functions: no Gradio,
no I/O.

Every piece of text, whether a user typed it or the list holds it, goes through `escape()` (or `_text`/`_attr`,
which escape too); nothing is ever rendered as markup. The element classes (`da-…`) are the page's styling
hooks (`assistant/web/static/app.css`) and the browser tests' handles: keep them stable.

A card is read at a front desk in two seconds, so its parts come in the order the desk acts on them (the
counter view): who is responsible (the responsibility line and the bodies); what the town does (for a
cooperative duty the town's part, open; for a reclaimed one the receiving body's part); the other matched
steps, each labelled with its side and its own number; the title (a long one shortened, the full text one
click away); the complete entry folded; the match score only in a folded row for reviewers. The answer's tier
sets the look (`da-role-…`): the answer card stands out, cards to check are amber, reference cards grey.
"""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import quote

from assistant.answer import Answer, Card, StepView, card as make_card
from assistant.data import bodies
from assistant.data.departments import Registry
from assistant.domain import Duty, Hit, ListKind
from assistant.labels import LABELS, by_side, in_side_order, labels_for, side_heading
from assistant.render.slip import Slip, slip_of, slip_text
from assistant.render.text import render_text

TITLE_SHORT = 40  # a card shortens a title longer than this (characters); the full text is one click away
BODY_LIST_TITLE = 36  # a title in a body's compact list of duties is cut here
OPEN_SIDE = {"coop": "town", "reclaimed": "receiver"}  # the part an answer card shows open, by list


def escape(text: str) -> str:
    """User or list text for HTML: always escaped, never rendered as markup."""
    return html.escape(text, quote=True)


def _text(text: str) -> str:
    """Escaped text, line breaks kept (and no raw newline left, so a chat message stays one HTML block)."""
    return escape(text or "").replace("\r\n", "\n").replace("\n", "<br>")


def _attr(text: str) -> str:
    """Escaped attribute value; newlines as character references."""
    return escape(text or "").replace("\r\n", "\n").replace("\n", "&#10;")


def _display(registry: Registry | None, name: str | None) -> str:
    if not name:
        return ""
    return registry.display(name) if registry is not None else name


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def department_link(name: str, label: str) -> str:
    """A link that opens the Departments tab on one body (static/app.js follows it; the href carries the name,
    since the chat drops data-* attributes)."""
    return f'<a class="da-dept-link" href="#dept={_attr(quote(name))}">{escape(label)}</a>'


# -- steps -----------------------------------------------------------------------------------------------


def _step_html(step: StepView, registry: Registry | None, star: str) -> str:
    """One numbered step of a side's list; a county body's step names the body (the town's own steps need no name)."""
    dept = _display(registry, step.department) if step.department and step.side != "town" else ""
    cls = "da-step da-hit" if step.matched else "da-step"
    return (f'<li class="{cls}" value="{int(step.order)}">{star if step.matched else ""}'
            + (f'<span class="da-dept">[{escape(dept)}]</span> ' if dept else "")
            + f"{_text(step.text)}</li>")


def step_label(card: Card, step: StepView, lang: str, registry: Registry | None = None) -> str:
    """Which side a step is on and its own number: `本镇职责 第1条`, `县公安局 · 上级部门职责 第2条`."""
    lab = labels_for(lang)
    dept = _display(registry, step.department) if step.department and step.side != "town" else ""
    side = side_heading(lab, card.list, step.side)
    return f"{dept + ' · ' if dept else ''}{side} {lab['step_no'].format(n=step.order)}"


def _star() -> str:
    return '<span class="da-star" aria-hidden="true">★</span> '


def people_html(card: Card, lang: str) -> str:
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


def side_html(card: Card, lang: str, side: str, steps: list[StepView], registry: Registry | None = None,
              part: bool = False) -> str:
    """One side's numbered steps under its heading; `part` marks the side a card shows open (da-part-…)."""
    lab = labels_for(lang)
    items = "".join(_step_html(s, registry, _star()) for s in steps)
    cls = f"da-side da-side-{side}" + (f" da-part da-part-{side}" if part else "")
    return (f'<div class="{cls}"><div class="da-k">{escape(side_heading(lab, card.list, side))}</div>'
            f'<ol class="da-steps">{items}</ol></div>')


def steps_html(card: Card, lang: str, registry: Registry | None = None) -> str:
    """The full entry: each side's numbered steps under its heading, the town's part first."""
    return "".join(side_html(card, lang, side, steps, registry) for side, steps in by_side(card.steps))


def matched_html(card: Card, steps: list[StepView], lang: str, registry: Registry | None = None,
                 heading: str | None = None) -> str:
    """Matched steps outside the open part, each labelled with its side and its own number, the town's first."""
    if not steps:
        return ""
    lab = labels_for(lang)
    items = "".join(
        f'<li class="da-step da-hit">{_star()}<span class="da-step-label">{escape(step_label(card, s, lang, registry))}</span>'
        f'<span class="da-step-text">{_text(s.text)}</span></li>'
        for s in in_side_order(steps))
    return (f'<div class="da-matched"><div class="da-k">{escape(heading or lab["matched_steps"])}</div>'
            f'<ul class="da-matched-steps">{items}</ul></div>')


def title_html(card: Card, lang: str, full: bool = False) -> str:
    """The duty's title after the parts a desk acts on; a long one shortened, the full text one click away."""
    lab = labels_for(lang)
    key = f'<span class="da-k">{escape(lab["title"])}：</span>'
    if full or len(card.title) <= TITLE_SHORT:
        return f'<div class="da-title">{key}<span class="da-title-text">{escape(card.title)}</span></div>'
    return (f'<details class="da-title da-title-long"><summary>{key}<span class="da-title-short">'
            f'{escape(_short(card.title, TITLE_SHORT))}</span> <span class="da-more">{escape(lab["title_more"])}</span>'
            f'</summary><span class="da-title-text">{escape(card.title)}</span></details>')


# -- a card ----------------------------------------------------------------------------------------------


def card_html(card: Card, lang: str = "zh", *, registry: Registry | None = None, expanded: bool | None = None,
              show_score: bool = True, compact: bool | None = None, note: str = "") -> str:
    """One duty card in the counter view's order (see the module docstring).

    Args:
        card: the card, as `assistant.answer` composed it.
        lang: the label language.
        registry: names county bodies the way staff say them (their full names without it).
        expanded: show the complete entry open (the Browse tab) instead of the open part and the matched steps.
        show_score: add the folded row for reviewers (citation, match score); answers do, browsing does not.
        compact: leave out the responsible bodies; by default related cards are compact, since their
            responsibility line already names the bodies.
        note: one line under the head (e.g. how a county body comes into this duty), plain text.
    """
    lab = labels_for(lang)
    role = card.role
    if compact is None:
        compact = role in ("related", "possibly", "reference")
    expanded = bool(expanded)
    number = card.id.rsplit("-", 1)[-1]
    tag = f'<span class="da-role-tag da-role-tag-{escape(role)}">{escape(lab["role_" + role])}</span>' \
        if f"role_{role}" in lab else ""
    head = (f'<div class="da-head">{tag}<span class="da-badge da-badge-{escape(card.list)}">{escape(card.list_label)}</span>'
            f'<span class="da-num">{escape(lab["item_no"].format(n=number))}</span>'
            f'<span class="da-id">{escape(card.id)}</span></div>')
    note_html = f'<div class="da-role-note">{escape(note)}</div>' if note else ""
    if role in ("possibly", "reference"):  # not an answer: no bold responsibility line
        resp = f'<div class="da-resp-plain">{escape(card.responsibility)}</div>'
    else:
        resp = f'<div class="da-resp da-resp-{escape(card.list)}">▶ {escape(card.responsibility)}</div>'
    people = "" if compact else people_html(card, lang)
    open_part, shown_open = "", set()
    side = OPEN_SIDE.get(card.list) if role == "answer" and not expanded else None
    if side:
        steps = [s for s in card.steps if s.side == side]
        if steps:
            open_part = side_html(card, lang, side, steps, registry, part=True)
            shown_open = {s.index for s in steps}
    matched = "" if expanded else matched_html(card, [s for s in card.matched_steps if s.index not in shown_open],
                                               lang, registry)
    meta = f'<div class="da-meta"><span class="da-k">{escape(lab["category"])}：</span>{escape(card.category)}</div>'
    steps = steps_html(card, lang, registry)
    full = ""
    if steps:
        full = (f'<details class="da-full-entry"{" open" if expanded else ""}>'
                f'<summary>{escape(lab["full_entry"])}</summary>{steps}</details>')
    review = ""
    if show_score:
        score = (f' · <span class="da-score">{escape(lab["score"])} {card.score:.2f}</span>' if card.score else "")
        review = (f'<details class="da-review"><summary>{escape(lab["review"])}</summary>'
                  f'<div class="da-review-body"><span class="da-k">{escape(lab["citation"])}：</span>'
                  f'<span class="da-cite">{escape(card.citation)}</span>（{escape(card.id)}）{score}</div></details>')
    classes = f"da-card da-role-{escape(role)} da-list-{escape(card.list)}" + (" da-compact" if compact else "")
    return (f'<div class="{classes}" data-id="{_attr(card.id)}">{head}{note_html}{resp}{people}{open_part}{matched}'
            f"{title_html(card, lang, full=expanded)}{meta}{full}{review}</div>")


def question_html(question: str) -> str:
    """The user's text shown back in the chat: escaped, never rendered as HTML."""
    return f'<div class="da-question">{_text(question)}</div>'


# -- the tools under an answer: the citizen slip and the copy buttons ------------------------------------


def copy_button_html(text: str, lang: str, label: str | None = None, kind: str = "answer") -> str:
    """A copy button and, hidden beside it, the plain text it copies (the chat strips data-* attributes and
    scripts, so the page's one click listener, in static/app.js, reads the text from the <pre> after it)."""
    lab = labels_for(lang)
    return (f'<span class="da-copy-wrap"><button type="button" class="da-copy da-copy-{escape(kind)}">'
            f'<span class="da-copy-label">{escape(label or lab["copy"])}</span>'
            f'<span class="da-copy-done">✓ {escape(lab["copied"])}</span>'
            f'<span class="da-copy-fail">{escape(lab["copy_failed"])}</span></button>'
            f'<pre class="da-plain da-plain-{escape(kind)}" aria-hidden="true">{escape(text)}</pre></span>')


def slip_html(slip: Slip) -> str:
    """The citizen slip behind one button (a <summary>: keyboard and screen readers know it), printable alone."""
    lab = labels_for(slip.lang)
    rows = [(lab["slip_matter"], escape(slip.matter)), (lab["slip_who"], f"<strong>{escape(slip.who)}</strong>")]
    if slip.bodies:
        rows.append((lab["slip_bodies"], escape(("、" if slip.lang != "en" else ", ").join(slip.bodies))))
    if slip.town:
        town = "".join(f"<li>{_text(t)}</li>" for t in slip.town)
        more = f'<div class="da-slip-more">{escape(lab["slip_more"].format(n=slip.town_more))}</div>' if slip.town_more else ""
        rows.append((lab["slip_town"], f'<ol class="da-slip-steps">{town}</ol>{more}'))
    else:
        rows.append((lab["slip_town"], escape(lab["slip_town_none"])))
    source = escape(slip.source)
    if slip.id:  # the id on one line
        source = source.replace(escape(slip.id), f'<span class="da-nowrap">{escape(slip.id)}</span>')
    rows += [(lab["slip_source"], source), (lab["slip_date"], escape(slip.date))]
    body = "".join(f'<div class="da-slip-row"><div class="da-slip-k">{escape(k)}</div><div class="da-slip-v">{v}</div></div>'
                   for k, v in rows)
    return (f'<details class="da-slip"><summary class="da-slip-button">{escape(lab["slip"])}</summary>'
            f'<div class="da-slip-sheet"><div class="da-slip-title">{escape(lab["slip_title"])}</div>{body}'
            f'<button type="button" class="da-print">{escape(lab["print"])}</button></div></details>')


# -- a county body named by the question -----------------------------------------------------------------


def involvement_label(how: str, lang: str) -> str:
    lab = labels_for(lang)
    return lab["named"] if how == "named" else lab[how]


def body_html(summary: dict, lang: str) -> str:
    """The one county body a question names: how many duties concern it and every one of them (compact), with a
    link to its page. Open when the question asks about the body itself; folded when it only names it."""
    lab = labels_for(lang)
    body = summary["display"]
    if summary["lists"]:
        scope = "、".join(lab[f"list_{v}"] for v in summary["lists"])
        scope = f" ({scope})" if lang == "en" else scope
        count = lab["body_count"].format(body=body, scope=scope, n=summary["count"])
    else:
        count = lab["body_count_all"].format(body=body, n=summary["total"])
    items = "".join(
        f'<li class="da-body-item" data-id="{_attr(d["id"])}"><span class="da-id">{escape(d["id"])}</span> '
        f'<span class="da-body-title">{escape(_short(d["title"], BODY_LIST_TITLE))}</span>'
        + (f' <span class="da-inv da-inv-{escape(d["involvement"])}">{escape(involvement_label(d["involvement"], lang))}</span>'
           if d["involvement"] not in ("leads", "takes_over") else "")
        + "</li>"
        for d in summary["duties"])
    link = department_link(summary["name"], lab["body_link"].format(body=body, n=summary["total"]))
    inner = f'<ol class="da-body-list">{items}</ol><div class="da-body-link">{link}</div>'
    if summary["asked"]:
        return (f'<div class="da-body-block da-body-asked"><div class="da-count-line">{escape(count)}</div>'
                f"{inner}</div>")
    return (f'<details class="da-body-block"><summary class="da-count-line">{escape(count)}</summary>'
            f"{inner}</details>")


# -- an answer -------------------------------------------------------------------------------------------


def matters_html(answer: Answer, registry: Registry | None = None, quote: int = 80) -> str:
    """A message's matters: "这条留言涉及 N 件事", then one folded block per matter (the first open) with its
    sentences quoted, its tier and its first duty's card (or the sentence that the list does not cover it)."""
    lab = labels_for(answer.lang)
    blocks = []
    for number, matter in enumerate(answer.matters, start=1):
        text = matter.question if len(matter.question) <= quote else matter.question[:quote] + "…"
        badge = f'<span class="da-tier da-tier-{escape(matter.tier)}">{escape(lab["tier_" + matter.tier])}</span>'
        summary = (f'<summary><span class="da-matter-n">{escape(lab["matter"].format(i=number))}</span> {badge} '
                   f'<span class="da-matter-text">“{escape(text)}”</span></summary>')
        if matter.cards:
            body = card_html(matter.cards[0], matter.lang, registry=registry, compact=True)
            if not matter.answered:
                body = f'<div class="da-subhead">{escape(matter.message)}</div>' + body
        else:
            body = f'<div class="da-message da-not-found">{escape(matter.message)}</div>'
        if matter.hint:
            body += f'<div class="da-hint">{escape(matter.hint)}</div>'
        blocks.append(f'<details class="da-matter"{" open" if number == 1 else ""}>{summary}{body}</details>')
    head = f'<div class="da-matters-head">{escape(lab["matters"].format(n=len(answer.matters)))}</div>'
    return f'<div class="da-matters">{head}{"".join(blocks)}</div>'


def answer_html(answer: Answer, registry: Registry | None = None, today: dt.date | None = None) -> str:
    """The assistant's chat message: the filter banner, the fixed sentence, a county body's duties when the
    question asks about one, the answer card, then related ones; the citizen slip and the copy buttons.

    Args:
        answer: the composed answer.
        registry: names bodies the way staff say them.
        today: the slip's date (default: today).
    """
    lab = labels_for(answer.lang)
    parts = [f'<div class="da-answer da-answer-{escape(answer.tier)}">']
    notice = answer.notice
    if answer.filters:
        banner = lab["filter_on"].format(filters=answer.filters)
        notice = " ".join(notice.replace(banner, " ").split())
        parts.append(f'<div class="da-filter-banner">{escape(banner)}</div>')
    if notice:
        parts.append(f'<div class="da-notice">! {escape(notice)}</div>')
    if answer.matters:  # a message that raises several matters: one block each, then the message as a whole
        parts.append(matters_html(answer, registry))
        parts.append(f'<div class="da-subhead">{escape(lab["whole_message"])}</div>')
    tier = escape(answer.tier)
    badge = f'<span class="da-tier da-tier-{tier}">{escape(lab["tier_" + answer.tier])}</span>'
    parts.append(f'<div class="da-message da-message-{tier}{"" if answer.answered else " da-not-found"}">'
                 f'{badge} {escape(answer.message)}</div>')
    if answer.read_as:
        parts.append(f'<div class="da-read-as">{escape(answer.read_as)}</div>')
    if answer.hint:
        parts.append(f'<div class="da-hint">{escape(answer.hint)}</div>')
    body = body_html(answer.department, answer.lang) if answer.department else ""
    if body and answer.department.get("asked"):
        parts.append(body)
        body = ""
    for number, c in enumerate(answer.cards):
        if number == 1 and answer.answered:
            parts.append(f'<div class="da-subhead">{escape(lab["related"])}</div>')
        elif number == 0 and not answer.answered:
            head = lab["possibly_related" if answer.tier == "possibly" else "reference"]
            parts.append(f'<div class="da-subhead">{escape(head)}</div>')
        parts.append(card_html(c, answer.lang, registry=registry))
    if body:
        parts.append(body)
    slip = slip_of(answer, today)
    tools = []
    if slip is not None:
        tools.append(slip_html(slip))
        tools.append(copy_button_html(slip_text(slip), answer.lang, kind="slip"))
        tools.append(copy_button_html(render_text(answer), answer.lang, lab["copy_full"], kind="full"))
    else:
        tools.append(copy_button_html(render_text(answer), answer.lang))
    parts.append(f'<div class="da-tools">{"".join(tools)}</div>')
    parts.append("</div>")
    return "".join(parts)


def error_html(message: str, lang: str = "zh") -> str:
    """A user error's one line (what to type or choose instead), escaped."""
    return f'<div class="da-error" role="alert">⚠ {_text(message)}</div>'


def user_error_html(err: Exception, question: str = "") -> str:
    """A user error in both languages, like the rest of the page: a fixed Chinese sentence for its kind, then
    the error's own (English) message, which names the specifics (an id, a body, the choices)."""
    from assistant.errors import NotFound, QuestionError

    zh = LABELS["zh"]
    if isinstance(err, QuestionError):
        lead = zh["error_empty"] if not (question or "").strip() else zh["error_unsearchable"]
    elif isinstance(err, NotFound):
        lead = zh["error_not_found"]
    else:
        lead = zh["error_other"]
    return error_html(f"{lead} · {err}")


# -- browsing: one duty, one county body -----------------------------------------------------------------


def duty_card(duty: Duty, registry: Registry, lang: str = "zh") -> Card:
    """A duty as an (unscored) entry card, built by assistant.answer like every answer card."""
    return make_card(Hit(duty, 0.0, []), "entry", registry, lang)


def duty_html(duty: Duty, registry: Registry, lang: str = "zh") -> str:
    """A duty on its own (the Browse tab): the complete entry open, no score."""
    return card_html(duty_card(duty, registry, lang), lang, registry=registry, expanded=True, show_score=False)


def department_html(name: str, grouped: dict[str, list[Duty]], registry: Registry, lang: str = "zh") -> str:
    """Everything one county body leads, takes part in, took back, or is named in, grouped by list
    (the rule: assistant.data.bodies). A duty that only names the body says so and marks the steps that do.

    Args:
        name: the body's canonical name.
        grouped: its duties by list value (`Assistant.duties_of`).
    """
    dept = registry.departments.get(name)
    shown = registry.display(name)
    lab = labels_for(lang)
    total = sum(len(v) for v in grouped.values())
    title = escape(shown) + (f' <span class="da-full">（{escape(name)}）</span>' if shown != name else "")
    en = f" · {escape(dept.en)}" if dept and dept.en else ""
    parts = [f'<div class="da-dept-page"><h3 class="da-dept-title">{title}</h3>'
             f'<div class="da-meta da-count-line">共 {total} 项 · {total} duties{en}</div>']
    for kind in ListKind:
        duties = grouped.get(kind.value, [])
        if not duties:
            continue
        group = f"group_{kind.value}"  # the group headings are always in both languages
        parts.append(f'<h4 class="da-group">{escape(LABELS["zh"][group])} · {escape(LABELS["en"][group])} '
                     f'<span class="da-count">{len(duties)}</span></h4>')
        for duty in duties:
            how = bodies.involvement(duty, name, registry)
            card = duty_card(duty, registry, lang)
            note = ""
            if how is not None and how.how in ("has_steps", "named"):
                for i in how.steps:  # the steps that are the body's own or name it: shown as matched
                    card.steps[i].matched = True
                note = (lab["named_note"].format(body=shown) if how.how == "named"
                        else f"{shown} {lab['has_steps']}")
            parts.append(card_html(card, lang, registry=registry, show_score=False, compact=True, note=note))
    if total == 0:
        parts.append(f'<div class="da-message">{escape(lab["no_duties"])}</div>')
    parts.append("</div>")
    return "".join(parts)


def body_count_html(name: str, count: int, registry: Registry, lang: str = "zh") -> str:
    """Browse's line when the search names a county body: how many duties concern it, and a link to its page."""
    lab = labels_for(lang)
    body = registry.display(name)
    return (f'<div class="da-count-line da-browse-body">{escape(lab["body_count_all"].format(body=body, n=count))} · '
            f'{department_link(name, lab["body_link"].format(body=body, n=count))}</div>')
