"""What the web app's filters offer and do: the dropdown choices (list, category, county body) and the
Browse tab's search. Pure functions over the loaded data."""

from __future__ import annotations

import re

from assistant.data.departments import Registry
from assistant.domain import Duty, ListKind

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
