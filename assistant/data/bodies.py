"""Which duties concern a county body: the one rule the Departments tab, Browse and a question about a body share.

A duty concerns a body when the body
- leads it (a cooperative duty's 对应上级部门) — `leads` — or took it over (a reclaimed duty's 承接部门) — `takes_over`;
- has steps of its own in it (a step the list ties to the body) — `has_steps`;
- is named in its title or one of its steps by its full name or a county short form (奇台县公安局, 县公安局) —
  `named`, with the steps that name it (e.g. 协调县公安局实施交通管制 in an emergency-management duty).

Only those name forms count. Bare short forms and aliases (公安局, 人大, 派出所, 教育) are the words people type, but
in the list's own text several name the town's own bodies or are ordinary words (履行镇人大主席团职责 is the
town's congress; 加强教育 does not name 县教育局). Pure functions over the loaded duties and registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.data.departments import Registry
from assistant.domain import Duty, ListKind

INVOLVEMENTS = ("leads", "takes_over", "has_steps", "named")


def _official_forms(registry: Registry) -> list[tuple[str, str]]:
    """(form, canonical name) for every body's full name and its county short forms (县…), longest first."""
    forms = [(form, dept.name) for dept in registry.departments.values()
             for form in (dept.name, *(f for f in dept.short if f.startswith("县")))]
    return sorted(set(forms), key=lambda f: -len(f[0]))


def bodies_named(text: str, registry: Registry, forms: list[tuple[str, str]] | None = None) -> set[str]:
    """The bodies a text names by full name or county short form (longest form first, no overlaps)."""
    taken = [False] * len(text)
    found: set[str] = set()
    for form, name in forms if forms is not None else _official_forms(registry):
        start = text.find(form)
        while start != -1:
            end = start + len(form)
            if not any(taken[start:end]):
                taken[start:end] = [True] * (end - start)
                found.add(name)
            start = text.find(form, end)
    return found


@dataclass(frozen=True)
class Involvement:
    """How one duty concerns one body: `how` is one of INVOLVEMENTS; `steps` are the indexes (in duty.steps) of
    the steps that are the body's own (has_steps) or name it (named)."""

    how: str
    steps: tuple[int, ...] = ()


def involvement(duty: Duty, name: str, registry: Registry, forms: list[tuple[str, str]] | None = None) -> Involvement | None:
    """How a duty concerns the body `name` (canonical), or None when it does not (see the module's rule)."""
    forms = forms if forms is not None else _official_forms(registry)
    own = tuple(i for i, s in enumerate(duty.steps) if s.department == name)
    naming = tuple(i for i, s in enumerate(duty.steps) if s.department != name and name in bodies_named(s.text, registry, forms))
    if name in duty.departments:
        return Involvement("takes_over" if duty.list is ListKind.RECLAIMED else "leads", own)
    if own:
        return Involvement("has_steps", own)
    if naming or name in bodies_named(duty.title, registry, forms):
        return Involvement("named", naming)
    return None


def duties_of(duties: list[Duty], registry: Registry, name: str) -> list[tuple[Duty, Involvement]]:
    """Every duty that concerns the body `name` (canonical), in list order, with how it does."""
    forms = _official_forms(registry)
    found = []
    for duty in duties:
        how = involvement(duty, name, registry, forms)
        if how is not None:
            found.append((duty, how))
    return found


# What a question about a body itself says besides the body's name ("县水利局需要镇上配合做什么", "公安局管哪些事",
# "what does the water bureau do"): if nothing else is left, the person wants the body's whole part in the list.
_FRAME = re.compile(
    r"需要|镇上|镇里|本镇|乡镇|我们|我镇|镇|配合|协助|一起|干什么|做什么|干啥|做啥|什么|哪些|哪几项|有哪些|啥|负责|管理|管|事情|"
    r"事项|事儿|事|工作|职责|清单|全部|所有|都|还|主要|具体|收回|承接|接手|牵头|上级|县级|县里|部门|单位|要|会|能|可以|"
    r"给|帮|帮忙|和|与|跟|的|了|吗|呢|呀|啊|有|是|在|对|办|做|干|"
    r"从|去|又|已经|现在|原来|以前|过去|收走|拿走|业务|县委|县|电话里有人问|有人问|来问|"
    r"\b(?:what|which|does|do|did|the|a|an|town|towns|need|needs|from|to|with|for|of|and|in|on|our|we|us|"
    r"duties|duty|tasks|task|work|handle|handles|lead|leads|led|by|help|helps|cooperate|cooperates|cooperation|"
    r"is|are|all|list|responsible|responsibilities|took|over|reclaimed|take|takes|back|county|bureau|township|jobs|"
    r"things|s)\b",
    re.IGNORECASE,
)


def asks_about_body(question: str, registry: Registry) -> str | None:
    """The body a question is about when it asks for the body's part as a whole (names one body and nothing else
    but question words), else None: "县水利局需要镇上配合做什么" → 奇台县水利局; "派出所管不管流浪狗" → None."""
    named = registry.mentions(question)
    if len(named) != 1:
        return None
    rest = question
    dept = registry.departments[named[0]]
    for form in sorted(dept.names() + ((dept.en,) if dept.en else ()), key=len, reverse=True):
        rest = re.sub(re.escape(form) + (r"s?\b" if form.isascii() else ""), " ", rest, flags=re.IGNORECASE)
    rest = _FRAME.sub(" ", rest)
    return named[0] if not re.search(r"[\w]", rest.replace("_", "")) else None


def summary(duties: list[Duty], registry: Registry, name: str, *, asked: bool, lists: list[str] = ()) -> dict:
    """A body's part in the list, for an answer: how many duties concern it and which.

    Args:
        name: the body (canonical name).
        asked: the question asks about the body as a whole (`asks_about_body`): the page lists every duty.
        lists: list values the question (or its filter) is about (配合 → coop); the duties are those of these lists,
            `total` counts all.
    Returns:
        {"name", "display", "en", "asked", "lists", "count", "total", "duties": [{"id", "list", "title",
        "citation", "involvement"}]} — JSON-ready, the shape `Answer.department` holds.
    """
    found = duties_of(duties, registry, name)
    shown = [(d, how) for d, how in found if not lists or d.list.value in lists]
    dept = registry.departments.get(name)
    return {
        "name": name, "display": registry.display(name), "en": dept.en if dept else "", "asked": asked,
        "lists": list(lists), "count": len(shown), "total": len(found),
        "duties": [{"id": d.id, "list": d.list.value, "title": d.title, "citation": d.citation,
                    "involvement": how.how} for d, how in shown],
    }
