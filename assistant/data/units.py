"""A duty → its retrieval units: the duty as a whole, each step (with its duty title as context), each clause
of a basic duty, and the similar questions (相似问) people ask about it.

Pure functions. The text of a unit is what gets embedded; the unit keeps which duty (and step) it points to.
"""

from __future__ import annotations

from assistant.data.departments import Registry
from assistant.domain import Duty, ListKind, Side, Unit


def duty_text(duty: Duty, registry: Registry | None = None) -> str:
    """The whole-duty unit: category, title, and who is responsible."""
    parts = [f"{duty.category}：{duty.title}"]
    if duty.departments:
        names = [registry.display(d) if registry else d for d in duty.departments]
        role = "承接" if duty.list is ListKind.RECLAIMED else "牵头"
        parts.append(f"{'、'.join(names)}{role}")
    return "。".join(parts)


def step_text(duty: Duty, index: int) -> str:
    step = duty.steps[index]
    if duty.list is ListKind.BASIC:  # a clause of the title stands on its own
        return step.text
    return f"{duty.title}：{step.text}"


def duty_units(duty: Duty, registry: Registry | None = None, questions: list[str] = ()) -> list[Unit]:
    """Every retrieval unit of one duty, in a stable order."""
    units = [Unit(duty.id, "duty", duty_text(duty, registry))]
    for index, step in enumerate(duty.steps):
        kind = "clause" if duty.list is ListKind.BASIC and step.side is Side.TOWN else "step"
        units.append(Unit(duty.id, kind, step_text(duty, index), step=index))
    for question in questions:
        units.append(Unit(duty.id, "question", question))
    return units


def all_units(duties: list[Duty], registry: Registry | None = None, similar: dict[str, list[str]] | None = None) -> list[Unit]:
    """Units of every duty; `similar` maps a duty id to its similar questions."""
    similar = similar or {}
    units: list[Unit] = []
    for duty in duties:
        units.extend(duty_units(duty, registry, similar.get(duty.id, [])))
    return units
