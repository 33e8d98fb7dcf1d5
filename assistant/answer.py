"""Ranked duties → answer cards. No generation: every sentence is list text or a template.

Labels (assistant.labels) are Chinese, or English when the question is English; the duty text always
stays as the list wrote it. The answer as text or HTML: assistant.render.text, assistant.render.html.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.data.departments import Registry
from assistant.domain import Duty, Hit, ListKind
from assistant.labels import labels_for
from assistant.search.retrieve import Result

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
    role: str  # answer | related (tier answer) · possibly (tier possibly) · reference (tier not_in_list)
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
    """What the assistant says to one question: a tier, fixed sentences and duty cards.

    `tier` (one meaning everywhere, see assistant/search/confidence.py): `answer` — the first card answers;
    `possibly` — the cards may be related, to be checked; `not_in_list` — the list does not cover the matter (the
    cards, if any, are the nearest duties, for reference only). `hint` is general knowledge, never list text,
    and is always shown marked as such.
    """

    question: str
    lang: str
    tier: str
    message: str  # the fixed sentence shown above the cards
    notice: str  # e.g. the question was cut, a filter is on
    cards: list[Card] = field(default_factory=list)
    confidence: float = 0.0
    hint: str = ""  # where people usually ask about a matter no list holds (not from the list)
    filters: str = ""  # the filters in words, when a filter is on
    outside_filter: dict | None = None  # {"id", "citation"} of a much better duty the filter left out
    # the one county body the question names, and every duty that concerns it (assistant.data.bodies.summary)
    department: dict | None = None
    # a long message that raises several matters: one answer per matter (its sentences as `question`)
    matters: list["Answer"] = field(default_factory=list)
    # how the question's own words were read in the list's words, where the first card uses them:
    # [{"said": "新农合", "list": "基本医疗保险"}] (an everyday name from data/lexicon.tsv, or a typo by its pinyin)
    readings: list[dict] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.tier == "answer"

    @property
    def read_as(self) -> str:
        """The readings as one template line (按清单用语理解：新农合 → 基本医疗保险。), or "" when there are none."""
        if not self.readings:
            return ""
        pairs = (", " if self.lang == "en" else "、").join(f"{r['said']} → {r['list']}" for r in self.readings)
        return labels_for(self.lang)["read_as"].format(pairs=pairs)

    @property
    def related(self) -> bool:
        return self.tier != "answer" and bool(self.cards)

    def to_json(self) -> dict:
        data = self._json()
        data["matters"] = [{"text": m.question, **{k: v for k, v in m._json().items() if k != "question"}}
                           for m in self.matters]
        return data

    def _json(self) -> dict:
        return {
            "question": self.question,
            "tier": self.tier,
            "answered": self.answered,
            "confidence": round(self.confidence, 4),
            "message": self.message,
            "notice": self.notice,
            "hint": self.hint,
            "filters": self.filters,
            "outside_filter": self.outside_filter,
            "department": self.department,
            "readings": self.readings,
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
    list_label = labels_for(lang)[f"list_{duty.list.value}"]
    return Card(
        id=duty.id, role=role, citation=duty.citation, list=duty.list.value, list_label=list_label,
        category=duty.category, title=duty.title, responsibility=line, responsible=people, steps=steps,
        score=hit.score,
    )


ROLES = {"answer": "answer", "possibly": "possibly", "not_in_list": "reference"}


def readings(query_readings: list[tuple[str, str]], duty: Duty) -> list[dict]:
    """The question's words read as list words that `duty`'s own text uses (新农合 → 基本医疗保险), each said word
    once: the reason a front desk can check why this duty came first."""
    text = duty.title + "".join(s.text for s in duty.steps)
    shown: dict[str, str] = {}
    for said, word in sorted(query_readings, key=lambda r: -len(r[0])):  # 临食救助 → 临时救助, not also 临食 → 临时
        if word in text and word != said and not any(said in other for other in shown):
            shown[said] = word
    order = [said for said, _ in query_readings]
    return [{"said": said, "list": shown[said]} for said in sorted(shown, key=order.index)]


def filters_text(filters, registry: Registry, lang: str) -> str:
    """The filters of a search in words (`配合履职事项 · 县水利局`), or "" when none is on."""
    if filters is None:
        return ""
    lab = labels_for(lang)
    parts = []
    if filters.list is not None:
        parts.append(lab[f"list_{filters.list.value}"])
    if filters.category:
        parts.append(filters.category)
    if filters.department:
        parts.append(registry.display(filters.department))
    return " · ".join(parts)


def compose(result: Result, registry: Registry, max_chars: int) -> Answer:
    """A retrieval result → the answer, by tier: the answer card and related ones; possibly related cards to
    check; or the plain sentence that the list does not cover it, with the nearest duties for reference."""
    lang = result.query.lang
    lab = labels_for(lang)
    notices = [lab["truncated"].format(n=max_chars)] if result.query.truncated else []
    filters = filters_text(result.filters, registry, lang)
    if filters:
        notices.append(lab["filter_on"].format(filters=filters))
    outside = None
    if result.outside_filter is not None:
        duty = result.outside_filter.duty
        outside = {"id": duty.id, "citation": duty.citation}
        notices.append(lab["outside_filter"].format(citation=duty.citation, id=duty.id))
    hint = ""
    if result.tier == "answer":
        cards = [card(h, "answer" if i == 0 else "related", registry, lang) for i, h in enumerate(result.hits)]
        message = lab["answer"]
    else:
        cards = [card(h, ROLES[result.tier], registry, lang) for h in result.hits] if result.nearby else []
        if result.tier == "possibly":
            message = lab["possibly"]
        else:
            query = result.query
            sentences = [lab["not_found"]]
            if query.unlisted_matter:
                sentences.append(lab["unlisted_matter"].format(matter=query.unlisted_matter))
                hint = lab["hint"].format(hint=query.hint_en if lang == "en" else query.hint)
            elif query.outside_office:
                hint = lab["hint"].format(hint=lab["outside_hint"].format(matter=query.outside_matter,
                                                                          office=query.outside_office))
            message = "".join(sentences) if lang != "en" else " ".join(sentences)
    # asked how much or when, or for a forecast, a shop, an opinion: whatever the tier, the list cannot give it,
    # only who handles the matter
    kind = ("unlisted_fact" if result.query.unlisted_fact or result.query.fact_question
            else "other_question" if result.query.other_question else "")
    if kind:
        message = (message + lab[kind]) if lang != "en" else f"{message} {lab[kind]}"
    matters = [compose(m.result, registry, max_chars) for m in result.matters]
    for matter, found in zip(matters, result.matters):
        matter.question = found.text
    read = readings(result.query.readings, result.hits[0].duty) if cards and result.tier != "not_in_list" else []
    return Answer(result.query.typed, lang, result.tier, message, " ".join(notices), cards, result.confidence,
                  hint, filters, outside, matters=matters, readings=read)
