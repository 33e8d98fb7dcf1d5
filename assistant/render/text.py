"""An answer as terminal text (`duty-assistant ask`, and what the web app's copy button copies)."""

from __future__ import annotations

from assistant.answer import Answer
from assistant.labels import by_side, labels_for, side_heading


def render_text(answer: Answer, full: bool = False) -> str:
    """The answer as plain text: the first card in full, the others as one line each (all in full if asked).

    Args:
        answer: the composed answer (`assistant.answer.compose`).
        full: show every card in full, not only the answer card.
    Returns:
        Lines joined by newlines, no trailing newline.
    """
    lab = labels_for(answer.lang)
    lines = []
    if answer.notice:
        lines.append(f"! {answer.notice}")
    if answer.matters:
        lines += matter_lines(answer) + ["", lab["whole_message"]]
    lines.append(f"[{lab['tier_' + answer.tier]}] {answer.message}")
    if answer.read_as:
        lines.append(answer.read_as)
    if answer.hint:
        lines.append(answer.hint)
    for number, c in enumerate(answer.cards):
        if number == 1 and answer.answered:
            lines.append("")
            lines.append(lab["related"])
        elif number == 0 and not answer.answered:
            lines.append(lab["possibly_related" if answer.tier == "possibly" else "reference"])
        if number == 0 and answer.answered or full:
            lines.append("")
            lines.append(f"【{c.citation}】 ({lab['category']}: {c.category}; {c.id})")
            lines.append(f"  ▶ {c.responsibility}")
            for side, steps in by_side(c.steps):
                lines.append(f"  {side_heading(lab, c.list, side)}:")
                for s in steps:
                    mark = "★" if s.matched else " "
                    dept = f"[{s.department}] " if s.department and side != "town" else ""
                    lines.append(f"   {mark} {s.order}. {dept}{s.text}")
        else:
            lines.append(f"  - {c.citation} — {c.responsibility} ({c.id})")
    if answer.department:
        lines += ["", department_line(answer.department, answer.lang)]
    return "\n".join(lines)


def matter_lines(answer: Answer, quote: int = 60) -> list[str]:
    """A message's matters, one compact block each: its sentences quoted, the tier, who handles it, the duty."""
    lab = labels_for(answer.lang)
    lines = [lab["matters"].format(n=len(answer.matters))]
    for i, matter in enumerate(answer.matters, start=1):
        text = matter.question if len(matter.question) <= quote else matter.question[:quote] + "…"
        lines.append(f"{i}. “{text}”")
        if matter.cards and matter.answered:
            c = matter.cards[0]
            lines.append(f"   [{lab['tier_' + matter.tier]}] {c.responsibility} — {c.citation} ({c.id})")
            continue
        # to check, or for reference only: the sentence that says so first, then the nearest duty if any
        lines.append(f"   [{lab['tier_' + matter.tier]}] {matter.message}")
        if matter.hint:  # where people usually ask about another office's matter (not from the list), as on the page
            lines.append(f"   {matter.hint}")
        if matter.cards:
            c = matter.cards[0]
            role = lab["role_possibly" if matter.tier == "possibly" else "role_reference"]
            lines.append(f"   {role}{': ' if answer.lang == 'en' else '：'}{c.responsibility} — {c.citation} ({c.id})")
    return lines


def department_line(summary: dict, lang: str) -> str:
    """The county body a question names, as one line: its count and every duty id (`Answer.department`)."""
    lab = labels_for(lang)
    if summary["lists"]:
        scope = "、".join(lab[f"list_{v}"] for v in summary["lists"])
        head = lab["body_count"].format(body=summary["display"], scope=f" ({scope})" if lang == "en" else scope,
                                        n=summary["count"])
    else:
        head = lab["body_count_all"].format(body=summary["display"], n=summary["total"])
    if not summary["duties"]:  # none in the list asked about (县发改委收回了哪些事): the count says it all
        return head
    return f"{head}{': ' if lang == 'en' else '：'}{', '.join(d['id'] for d in summary['duties'])}"
