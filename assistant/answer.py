"""Ranked duties → answer cards and answer text. No generation: every sentence is list text or a template.

Labels are Chinese, or English when the question is English; the duty text always stays as the list wrote it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from assistant.data.departments import Registry
from assistant.domain import Duty, Hit, ListKind
from assistant.search.retrieve import Result

LABELS = {
    "zh": {
        "not_found": "清单中没有找到能回答这个问题的事项。",
        "unlisted_fact": "履职清单只写明由谁负责、怎么办理，不含电话、时间、金额、姓名、地址这类信息。",
        "possibly_related": "可能相关的事项（仅供参考）：",
        "related": "相关事项：",
        "answer": "答复依据：",
        "truncated": "问题过长，只按前 {n} 个字检索。",
        "basic": "本镇负责",
        "coop": "{lead}牵头，本镇配合",
        "reclaimed": "本镇已不再承担，请到{receiver}办理",
        "category": "事项类别",
        "town_steps": "本镇职责",
        "upper_steps": "上级部门职责",
        "receiver_steps": "承接部门及工作方式",
        "clauses": "具体任务",
        "matched": "匹配",
        "lead": "牵头部门",
        "receiver": "承接部门",
        "score": "匹配分",
    },
    "en": {
        "not_found": "Nothing in the duty list answers this question.",
        "unlisted_fact": "The duty list says who handles what and how; it holds no phone numbers, hours, amounts, names or addresses.",
        "possibly_related": "Possibly related items (for reference only):",
        "related": "Related items:",
        "answer": "Answer from the list:",
        "truncated": "The question was too long; only its first {n} characters were searched.",
        "basic": "The town handles this itself",
        "coop": "Led by {lead}; the town assists",
        "reclaimed": "The town no longer handles this; send the person to {receiver}",
        "category": "Category",
        "town_steps": "The town's part",
        "upper_steps": "County department's part",
        "receiver_steps": "Receiving body and how it works",
        "clauses": "Tasks",
        "matched": "matched",
        "lead": "Lead bodies",
        "receiver": "Receiving body",
        "score": "match score",
    },
}

LIST_NAMES_EN = {ListKind.BASIC: "Basic duty", ListKind.COOP: "Cooperative duty", ListKind.RECLAIMED: "Reclaimed duty"}


def labels_for(lang: str) -> dict:
    return LABELS["en" if lang == "en" else "zh"]


@dataclass
class StepView:
    index: int  # position in duty.steps
    order: int
    side: str
    department: str | None
    text: str
    matched: bool
    score: float | None = None


@dataclass
class Card:
    """One duty as shown to a person."""

    id: str
    role: str  # answer | related | possibly_related
    citation: str
    list: str
    list_label: str
    category: str
    title: str
    responsibility: str  # the one line a front desk needs: 本镇负责 / 县…牵头，本镇配合 / 本镇已不再承担…
    responsible: list[dict]  # [{"name", "display", "en", "role"}]
    steps: list[StepView]
    score: float

    @property
    def matched_steps(self) -> list[StepView]:
        return [s for s in self.steps if s.matched]


@dataclass
class Answer:
    question: str
    lang: str
    answered: bool
    related: bool
    message: str  # the fixed sentence shown above the cards
    notice: str  # e.g. the question was cut
    cards: list[Card] = field(default_factory=list)
    confidence: float = 0.0

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answered": self.answered,
            "message": self.message,
            "notice": self.notice,
            "results": [
                {
                    "id": c.id,
                    "title": c.title,
                    "list": c.list,
                    "category": c.category,
                    "citation": c.citation,
                    "role": c.role,
                    "score": round(c.score, 4),
                    "responsibility": c.responsibility,
                    "responsible": c.responsible,
                    "matched_steps": [
                        {"order": s.order, "side": s.side, "department": s.department, "text": s.text,
                         "score": None if s.score is None else round(s.score, 4)}
                        for s in c.matched_steps
                    ],
                }
                for c in self.cards
            ],
        }


def responsibility(duty: Duty, registry: Registry, lang: str) -> tuple[str, list[dict]]:
    lab = labels_for(lang)
    people = []
    role = "receiver" if duty.list is ListKind.RECLAIMED else "lead"
    for name in duty.departments:
        dept = registry.departments.get(name)
        people.append({"name": name, "display": registry.display(name), "en": dept.en if dept else "", "role": role})
    if lang == "en":
        names = ", ".join(f"{p['en'] or p['display']} ({p['name']})" for p in people)
    else:
        names = "、".join(p["display"] for p in people)
    if duty.list is ListKind.BASIC:
        return lab["basic"], [{"name": "本镇", "display": "本镇", "en": "the town", "role": "town"}]
    if duty.list is ListKind.COOP:
        return lab["coop"].format(lead=names), people
    return lab["reclaimed"].format(receiver=names), people


def card(hit: Hit, role: str, registry: Registry, lang: str) -> Card:
    duty = hit.duty
    matched = {ev.unit.step: ev.score for ev in hit.evidence if ev.unit.step is not None}
    line, people = responsibility(duty, registry, lang)
    steps = [
        StepView(i, s.order, s.side.value, s.department, s.text, i in matched, matched.get(i))
        for i, s in enumerate(duty.steps)
    ]
    list_label = duty.list.zh if lang != "en" else LIST_NAMES_EN[duty.list]
    return Card(
        id=duty.id, role=role, citation=duty.citation, list=duty.list.value, list_label=list_label,
        category=duty.category, title=duty.title, responsibility=line, responsible=people, steps=steps,
        score=hit.score,
    )


def compose(result: Result, registry: Registry, max_chars: int) -> Answer:
    """A retrieval result → the answer: the first card answers, the rest are related; or a plain decline."""
    lang = result.query.lang
    lab = labels_for(lang)
    notice = lab["truncated"].format(n=max_chars) if result.query.truncated else ""
    if result.answered:
        cards = [card(h, "answer" if i == 0 else "related", registry, lang) for i, h in enumerate(result.hits)]
        message = lab["answer"]
    else:
        cards = [card(h, "possibly_related", registry, lang) for h in result.hits] if result.related else []
        message = lab["unlisted_fact"] if result.query.unlisted_fact else lab["not_found"]
    return Answer(result.query.question, lang, result.answered, result.related, message, notice, cards, result.confidence)


# -- plain text (CLI) -----------------------------------------------------------------------------------

SIDE_KEYS = (("town", "town_steps"), ("upper", "upper_steps"), ("receiver", "receiver_steps"))


def render_text(answer: Answer, full: bool = False) -> str:
    """The answer as terminal text: the first card in full, the others as one line each (all in full if asked)."""
    lab = labels_for(answer.lang)
    lines = []
    if answer.notice:
        lines.append(f"! {answer.notice}")
    lines.append(answer.message)
    for number, c in enumerate(answer.cards):
        if number == 1 and answer.answered:
            lines.append("")
            lines.append(lab["related"])
        elif number == 0 and not answer.answered:
            lines.append(lab["possibly_related"])
        if number == 0 and answer.answered or full:
            lines.append("")
            lines.append(f"【{c.citation}】 ({lab['category']}: {c.category}; {c.id})")
            lines.append(f"  ▶ {c.responsibility}")
            for side, key in SIDE_KEYS:
                steps = [s for s in c.steps if s.side == side]
                if not steps:
                    continue
                heading = lab["clauses"] if c.list == "basic" else lab[key]
                lines.append(f"  {heading}:")
                for s in steps:
                    mark = "★" if s.matched else " "
                    dept = f"[{s.department}] " if s.department and side != "town" else ""
                    lines.append(f"   {mark} {s.order}. {dept}{s.text}")
        else:
            lines.append(f"  - {c.citation} — {c.responsibility} ({c.id})")
    return "\n".join(lines)


def escape(text: str) -> str:
    """User or list text for HTML: always escaped, never rendered as markup."""
    return html.escape(text, quote=True)
