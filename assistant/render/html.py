"""Answers, duty cards and county-body pages as HTML for the web app. Pure functions: no Gradio, no I/O.

Every piece of text, whether a user typed it or the list holds it, goes through `escape()` (or `_text`/`_attr`,
which escape too); nothing is ever rendered as markup. The element classes (`da-…`) are the page's styling
hooks (`assistant/web/static/app.css`) and the browser tests' handles: keep them stable.
"""

from __future__ import annotations

import html

from assistant.answer import Answer, Card, card as make_card
from assistant.data.departments import Registry
from assistant.domain import Duty, Hit, ListKind
from assistant.labels import LABELS, by_side, in_side_order, labels_for, side_heading
from assistant.render.text import render_text

OPEN_IF_SHORTER = 320  # an answer card opens its full entry when the entry is this short (in characters)


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


def _step_html(step, registry: Registry | None, star: str) -> str:
    """One numbered step; a county body's step names the body (the town's own steps need no name)."""
    dept = _display(registry, step.department) if step.department and step.side != "town" else ""
    cls = "da-step da-hit" if step.matched else "da-step"
    return (f'<li class="{cls}" value="{int(step.order)}">{star if step.matched else ""}'
            + (f'<span class="da-dept">[{escape(dept)}]</span> ' if dept else "")
            + f"{_text(step.text)}</li>")


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


def steps_html(card: Card, lang: str, registry: Registry | None = None) -> str:
    """The full entry: each side's numbered steps under its heading, the town's part first."""
    lab = labels_for(lang)
    star = '<span class="da-star" title="matched">★</span> '
    blocks = []
    for side, steps in by_side(card.steps):
        items = "".join(_step_html(s, registry, star) for s in steps)
        blocks.append(f'<div class="da-side da-side-{side}"><div class="da-k">{escape(side_heading(lab, card.list, side))}</div>'
                      f'<ol class="da-steps">{items}</ol></div>')
    return "".join(blocks)


def card_html(card: Card, lang: str = "zh", *, registry: Registry | None = None, expanded: bool | None = None,
              show_score: bool = True, compact: bool | None = None) -> str:
    """One duty card: citation, the responsibility line (prominent), matched steps, the full entry in <details>.

    Args:
        card: the card, as `assistant.answer` composed it.
        lang: the label language.
        registry: names county bodies the way staff say them (their full names without it).
        expanded: open the full entry (the Browse tab); by default only a short answer card opens it.
        show_score: show the match score (answers do; browsing does not).
        compact: leave out the responsible bodies; by default related cards are compact, since their
            responsibility line already names the bodies.
    """
    lab = labels_for(lang)
    if compact is None:
        compact = card.role in ("related", "possibly", "reference")
    if expanded is None:
        expanded = card.role == "answer" and sum(len(s.text) for s in card.steps) <= OPEN_IF_SHORTER
    head = (f'<div class="da-head"><span class="da-badge da-badge-{escape(card.list)}">{escape(card.list_label)}</span>'
            f'<span class="da-cite">{escape(card.citation)}</span><span class="da-id">{escape(card.id)}</span></div>')
    if card.role in ("possibly", "reference"):  # not an answer: no bold responsibility line
        resp = f'<div class="da-resp-plain">{escape(card.responsibility)}</div>'
    else:
        resp = f'<div class="da-resp da-resp-{escape(card.list)}">▶ {escape(card.responsibility)}</div>'
    meta = f'<div class="da-meta"><span class="da-k">{escape(lab["category"])}：</span>{escape(card.category)}'
    if show_score and card.score:
        meta += f' · <span class="da-score">{escape(lab["score"])} {card.score:.2f}</span>'
    meta += "</div>"
    matched = ""
    if card.matched_steps and not expanded:
        items = "".join(_step_html(s, registry, '<span class="da-star">★</span> ')
                        for s in in_side_order(card.matched_steps))
        matched = (f'<div class="da-matched"><div class="da-k">{escape(lab["matched_steps"])}</div>'
                   f'<ol class="da-steps">{items}</ol></div>')
    steps = steps_html(card, lang, registry)
    full = ""
    if steps:
        full = (f'<details class="da-full-entry"{" open" if expanded else ""}>'
                f'<summary>{escape(lab["full_entry"])}</summary>{steps}</details>')
    classes = f"da-card da-role-{escape(card.role)} da-list-{escape(card.list)}" + (" da-compact" if compact else "")
    return (f'<div class="{classes}" data-id="{_attr(card.id)}">'
            f"{head}{resp}{'' if compact else people_html(card, lang)}{meta}{matched}{full}</div>")


def question_html(question: str) -> str:
    """The user's text shown back in the chat: escaped, never rendered as HTML."""
    return f'<div class="da-question">{_text(question)}</div>'


def copy_button_html(text: str, lang: str) -> str:
    """A copy button and, hidden beside it, the plain text it copies (the chat strips data-* attributes and
    scripts, so the page's one click listener, in static/app.js, reads the text from the <pre>)."""
    lab = labels_for(lang)
    return (f'<button type="button" class="da-copy"><span class="da-copy-label">{escape(lab["copy"])}</span>'
            f'<span class="da-copy-done">✓ {escape(lab["copied"])}</span>'
            f'<span class="da-copy-fail">{escape(lab["copy_failed"])}</span></button>'
            f'<pre class="da-plain" aria-hidden="true">{escape(text)}</pre>')


def answer_html(answer: Answer, registry: Registry | None = None) -> str:
    """The assistant's chat message: the fixed sentence first, then the answer card, then related ones."""
    lab = labels_for(answer.lang)
    parts = ['<div class="da-answer">']
    if answer.notice:
        parts.append(f'<div class="da-notice">! {escape(answer.notice)}</div>')
    tier = escape(answer.tier)
    badge = f'<span class="da-tier da-tier-{tier}">{escape(lab["tier_" + answer.tier])}</span>'
    parts.append(f'<div class="da-message da-message-{tier}{"" if answer.answered else " da-not-found"}">'
                 f'{badge} {escape(answer.message)}</div>')
    if answer.hint:
        parts.append(f'<div class="da-hint">{escape(answer.hint)}</div>')
    for number, c in enumerate(answer.cards):
        if number == 1 and answer.answered:
            parts.append(f'<div class="da-subhead">{escape(lab["related"])}</div>')
        elif number == 0 and not answer.answered:
            head = lab["possibly_related" if answer.tier == "possibly" else "reference"]
            parts.append(f'<div class="da-subhead">{escape(head)}</div>')
        parts.append(card_html(c, answer.lang, registry=registry))
    parts.append(f'<div class="da-tools">{copy_button_html(render_text(answer), answer.lang)}</div>')
    parts.append("</div>")
    return "".join(parts)


def error_html(message: str, lang: str = "zh") -> str:
    """A user error's one line (what to type or choose instead), escaped."""
    return f'<div class="da-error">⚠ {_text(message)}</div>'


def duty_card(duty: Duty, registry: Registry, lang: str = "zh") -> Card:
    """A duty as an (unscored) entry card, built by assistant.answer like every answer card."""
    return make_card(Hit(duty, 0.0, []), "entry", registry, lang)


def duty_html(duty: Duty, registry: Registry, lang: str = "zh") -> str:
    """A duty on its own (the Browse tab): the full entry open, no score."""
    return card_html(duty_card(duty, registry, lang), lang, registry=registry, expanded=True, show_score=False)


def department_html(name: str, grouped: dict[str, list[Duty]], registry: Registry, lang: str = "zh") -> str:
    """Everything one county body leads, takes part in, or took back, grouped by list.

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
             f'<div class="da-meta">共 {total} 项 · {total} duties{en}</div>']
    for kind in ListKind:
        duties = grouped.get(kind.value, [])
        if not duties:
            continue
        group = f"group_{kind.value}"  # the group headings are always in both languages
        parts.append(f'<h4 class="da-group">{escape(LABELS["zh"][group])} · {escape(LABELS["en"][group])} '
                     f'<span class="da-count">{len(duties)}</span></h4>')
        for duty in duties:
            if kind is ListKind.RECLAIMED and name in duty.departments:
                role = lab["takes_over"]
            elif name in duty.departments:
                role = lab["leads"]
            else:
                role = lab["has_steps"]
            card = duty_card(duty, registry, lang)
            note = f'<div class="da-role-note">{escape(shown)} {escape(role)}</div>' if role == lab["has_steps"] else ""
            parts.append(note + card_html(card, lang, registry=registry, show_score=False, compact=True))
    if total == 0:
        parts.append(f'<div class="da-message">{escape(lab["no_duties"])}</div>')
    parts.append("</div>")
    return "".join(parts)
