"""The citizen slip: a short note a front desk hands over (or prints) — the matter, who handles it, what the town
does, the list and item cited, the date. Built from the answer card only (list text and fixed labels, nothing
generated); as text here (what the copy button copies), as HTML in assistant/render/html.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from assistant.answer import Answer, Card
from assistant.labels import labels_for

SLIP_STEPS = 5  # the town's steps a slip lists at most; the rest are cited, not copied


@dataclass
class Slip:
    """What a slip says, each field already in the answer's language (labels) or the list's words."""

    lang: str
    matter: str  # the duty's title
    who: str  # the responsibility line: 本镇负责 / 县…牵头，本镇配合 / 本镇已不再承担，请到…办理
    bodies: list[str]  # full names of the bodies that handle it (none for the town's own duties)
    town: list[str] = field(default_factory=list)  # what the town does: its steps as the list states them
    town_more: int = 0  # the town's steps left out (SLIP_STEPS)
    source: str = ""  # 履职事项清单 · 配合履职事项 第19项（coop-19）
    date: str = ""
    id: str = ""  # the duty's id (coop-19), cited in `source`


def _date(today: dt.date, lang: str) -> str:
    return today.isoformat() if lang == "en" else f"{today.year}年{today.month}月{today.day}日"


def slip_of(answer: Answer, today: dt.date | None = None) -> Slip | None:
    """The slip for an answer's first card; None unless the list answers (tier `answer`): a duty to check or
    one the list does not cover is nothing to hand a citizen."""
    if answer.tier != "answer" or not answer.cards:
        return None
    return card_slip(answer.cards[0], answer.lang, today)


def card_slip(card: Card, lang: str, today: dt.date | None = None) -> Slip:
    """The slip of one duty card (see `Slip`); the date defaults to today."""
    lab = labels_for(lang)
    today = today or dt.date.today()
    bodies = [p["name"] for p in card.responsible if p.get("role") != "town"]
    if card.list == "reclaimed":
        town: list[str] = []
    elif card.list == "basic":  # the clauses the question matched, else all of them
        clauses = [s for s in card.steps if s.side == "town"]
        town = [s.text for s in (card.matched_steps or clauses)]
    else:
        town = [s.text for s in card.steps if s.side == "town"]
    number = card.id.rsplit("-", 1)[-1]
    source = f"{lab['slip_list']} · {card.list_label} {lab['item_no'].format(n=number)}（{card.id}）"
    return Slip(lang, card.title, card.responsibility, bodies, town[:SLIP_STEPS], max(0, len(town) - SLIP_STEPS),
                source, _date(today, lang), card.id)


def slip_text(slip: Slip) -> str:
    """The slip as plain text (what the page's copy button copies), lines joined by newlines."""
    lab = labels_for(slip.lang)
    colon = ": " if slip.lang == "en" else "："
    lines = [lab["slip_title"], f"{lab['slip_matter']}{colon}{slip.matter}", f"{lab['slip_who']}{colon}{slip.who}"]
    if slip.bodies:
        lines.append(f"{lab['slip_bodies']}{colon}{('、' if slip.lang != 'en' else ', ').join(slip.bodies)}")
    lines.append(f"{lab['slip_town']}{colon}" + ("" if slip.town else lab["slip_town_none"]))
    lines += [f"  {i}. {text}" for i, text in enumerate(slip.town, start=1)]
    if slip.town_more:
        lines.append("  " + lab["slip_more"].format(n=slip.town_more))
    lines += [f"{lab['slip_source']}{colon}{slip.source}", f"{lab['slip_date']}{colon}{slip.date}"]
    return "\n".join(lines)
