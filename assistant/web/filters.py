"""What the web app's filters offer and do: the dropdown choices (list, category, county body) and the
Browse tab's search. Pure functions over the loaded data, except `browse_duties`, which asks the Assistant."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.data import bodies
from assistant.data.departments import Registry
from assistant.domain import Duty, ListKind
from assistant.errors import QuestionError

MEANING_DEPTH = 60  # duties retrieval ranks for a Browse search
MEANING_SHARE = 0.8  # …of which those scoring at least this share of the best are shown

ALL = "__all__"  # the "all" entry of every dropdown
ALL_CHOICE = ("全部 · All", ALL)


def list_choices() -> list[tuple[str, str]]:
    """(label, value) for the list dropdowns, "all" first."""
    return [ALL_CHOICE] + [(f"{k.zh} · {k.en}", k.value) for k in ListKind]


def category_choices(categories: list[str]) -> list[tuple[str, str]]:
    """(label, value) for the category dropdowns, "all" first."""
    return [ALL_CHOICE] + [(c, c) for c in categories]


def department_choices(registry: Registry) -> list[tuple[str, str]]:
    """(label, canonical name) for the dropdowns: the short name staff use, the full name, the English name."""
    choices = []
    for name, dept in registry.departments.items():
        label = dept.display if dept.display == name else f"{dept.display}（{name}）"
        if dept.en:
            label += f" · {dept.en}"
        choices.append((label, name))
    return sorted(choices, key=lambda c: c[1])


def chosen(value) -> str | None:
    """A dropdown's value as a filter: None for "all" (or nothing chosen)."""
    return None if value in (None, "", ALL) else value


def _duty_haystack(duty: Duty, registry: Registry) -> str:
    names = []
    for name in set(duty.departments) | {s.department for s in duty.steps if s.department}:
        names.append(name)
        dept = registry.departments.get(name)
        if dept:
            names += [*dept.short, *dept.aliases, dept.en]
    return "\n".join([duty.id, duty.title, duty.category, *(s.text for s in duty.steps), *names]).lower()


def filter_duties(duties: list[Duty], registry: Registry, list_value: str | None = None, category: str | None = None,
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


def _names_plainly(text: str, dept) -> bool:
    """The search names the body by its name, a short form, an English name or an alias of 3+ characters (派出所);
    a two-character alias (消防, 民政) is a topic as much as a body, and is searched by meaning."""
    words = [w for w in re.split(r"[\s,，、?？]+", text) if w]
    forms = {dept.name, *dept.short, *(a for a in dept.aliases if len(a) >= 3 or a.isascii())}
    return any(w in forms for w in words) or (text.isascii() and bool(dept.en))


def _matches_any_term(duty: Duty, registry: Registry, terms: list[str]) -> bool:
    hay = _duty_haystack(duty, registry)
    return any(t.lower() in hay for t in terms)


@dataclass
class Browsed:
    """What a Browse search found: the duties, in order, and how it read the search text.

    `how`: `all` (no text), `id` (a duty id), `body` (a county body: its duties by the one rule,
    assistant.data.bodies), `meaning` (retrieval, as Ask reads a question, plus the literal matches).
    """

    duties: list[Duty]
    how: str
    body: str | None = None


def browse_duties(assistant, list_value: str | None = None, category: str | None = None,
                  text: str | None = None) -> Browsed:
    """The Browse tab's search, read the way Ask reads a question.

    A duty id shows that duty; a county body (县公安局, 派出所, "what does the police do") shows every duty that
    concerns it, by the rule the Departments tab uses; anything else goes through retrieval (the lexicon,
    similar questions, pinyin: 流浪狗 finds 文明养犬管理工作) — the duties scoring at least MEANING_SHARE of the best,
    none when retrieval says the list does not cover it — together with the duties whose text holds every
    word or one of the list's words the lexicon and pinyin matched.

    Args:
        assistant: an open `assistant.api.Assistant` (its data, registry and `search`).
        list_value, category: the dropdowns' values ("all" or None for no filter).
        text: the search box.
    """
    data, registry = assistant.data, assistant.data.registry
    list_value, category = chosen(list_value), chosen(category)
    in_scope = filter_duties(data.duties, registry, list_value, category)
    text = (text or "").strip()
    if not text or not in_scope:  # no search, or filters no duty passes (e.g. a list name that does not exist)
        return Browsed(in_scope, "all")
    ident = text.lower().replace(" ", "")
    if re.fullmatch(r"(basic|coop|reclaimed)-\d+", ident):
        return Browsed([d for d in in_scope if d.id == ident], "id")
    body = bodies.asks_about_body(text, registry)
    if body is not None and _names_plainly(text, registry.departments[body]):
        mine = {d.id for d, _ in bodies.duties_of(data.duties, registry, body)}
        return Browsed([d for d in in_scope if d.id in mine], "body", body)
    literal = filter_duties(in_scope, registry, None, None, text)
    try:
        result = assistant.search(text, k=MEANING_DEPTH, list=list_value, category=category)
    except QuestionError:  # nothing to search for (only punctuation): only what the text literally holds
        return Browsed(literal, "meaning")
    rank = {h.duty.id: i for i, h in enumerate(result.hits)}
    found = {d.id for d in literal}
    if result.hits and (result.tier != "not_in_list" or result.nearby):
        best = result.hits[0].score
        found |= {h.duty.id for h in result.hits if h.score >= MEANING_SHARE * best}
    terms = list(result.query.expansions) + list(result.query.corrections)
    if terms:
        found |= {d.id for d in in_scope if _matches_any_term(d, registry, terms)}
    order = {d.id: i for i, d in enumerate(in_scope)}
    chosen_duties = [d for d in in_scope if d.id in found]
    chosen_duties.sort(key=lambda d: (rank.get(d.id, len(rank)), order[d.id]))
    return Browsed(chosen_duties, "meaning")
