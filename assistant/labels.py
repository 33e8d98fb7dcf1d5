"""The one zh/en label table of every surface (CLI text, web HTML, answer messages), and the one order of a
duty's sides.

Labels are Chinese, or English when the question is English; the duty text always stays as the list wrote it.
"""

from __future__ import annotations

from typing import Iterable, Sequence, TypeVar

from assistant.domain import ListKind, Side

LABELS = {
    "zh": {
        # the fixed sentences of an answer
        "answer": "答复依据：",
        "not_found": "清单中没有找到能回答这个问题的事项。",
        "unlisted_fact": "履职清单只写明由谁负责、怎么办理，不含电话、时间、金额和数量、条件和资格、到账情况和办理进度、姓名、地址这类信息，也不评判谁对谁错。",
        "other_question": "履职清单只写明由谁负责、怎么办理，不含天气预报、商品买卖和维修、个人评价和建议（包括用药）、来电短信真假这类信息。",
        "possibly": "不能确定清单中是哪一项：以下事项可能相关，请核对后再答复。",
        "possibly_related": "可能相关的事项（请核对）：",
        "reference": "最接近的事项（仅供参考，并不回答这个问题）：",
        "related": "相关事项：",
        "unlisted_matter": "三张清单都没有“{matter}”这项业务。",
        "hint": "提示（非清单内容，仅供参考）：{hint}。",
        "outside_hint": "“{matter}”这类事通常找{office}",
        "filter_on": "仅在 {filters} 中查找。",
        "read_as": "按清单用语理解：{pairs}。",
        "outside_filter": "不加筛选时，最匹配的是 {citation}（{id}）。",
        "matters": "这条留言涉及 {n} 件事：",
        "matter": "第 {i} 件",
        "whole_message": "整条留言的答复：",
        "tier_answer": "清单答复",
        "tier_possibly": "请核对",
        "tier_not_in_list": "清单未涉及",
        "truncated": "问题过长，只按前 {n} 个字检索。",
        # who is responsible, by list
        "basic": "本镇负责",
        "coop": "{lead}牵头，本镇配合",
        "reclaimed": "本镇已不再承担，请到{receiver}办理",
        "lead": "牵头部门",
        "receiver": "承接部门",
        # a duty card
        "category": "事项类别",
        "score": "匹配分",
        "town_steps": "本镇职责",
        "upper_steps": "上级部门职责",
        "receiver_steps": "承接部门及工作方式",
        "clauses": "具体任务",
        "matched_steps": "匹配的内容",
        "full_entry": "查看完整条目",
        # the copy button
        "copy": "复制答复",
        "copied": "已复制",
        "copy_failed": "复制失败，请手动选择文字",
        # a county body's page: its part in a duty, and how each list's group is introduced
        "leads": "牵头",
        "takes_over": "承接",
        "has_steps": "涉及其职责",
        "no_duties": "没有符合条件的事项。",
        "group_basic": "基本履职事项（本镇负责，涉及该部门）",
        "group_coop": "配合履职事项（该部门牵头或参与，本镇配合）",
        "group_reclaimed": "上级部门收回事项（该部门承接，本镇不再承担）",
        # the counter view of a card (assistant/render/html.py): its role, its number, labelled steps, the title
        "role_answer": "答复",
        "role_related": "相关",
        "role_possibly": "请核对",
        "role_reference": "仅供参考",
        "item_no": "第{n}项",
        "step_no": "第{n}条",
        "title": "事项名称",
        "title_more": "展开全文",
        "review": "审核信息",
        "citation": "出处",
        "named": "步骤中提及",
        "named_note": "{body}在本事项的步骤中被提及",
        # a county body's part, under an answer that names it
        "body_count": "{body}：{scope}共 {n} 项",
        "body_count_all": "{body}在清单中共 {n} 项",
        "body_link": "在“部门”页查看{body}的全部 {n} 项 →",
        "body_list": "全部事项",
        # the citizen slip: a short note to hand over (or print), and the staff's full entry
        "slip": "给群众的便条",
        "slip_title": "办事指引",
        "slip_matter": "事项",
        "slip_who": "由谁办理",
        "slip_bodies": "部门全称",
        "slip_town": "本镇做什么",
        "slip_town_none": "本镇已不再承担此事项，请直接到承接部门办理。",
        "slip_more": "（其余 {n} 条见清单）",
        "slip_source": "依据",
        "slip_list": "履职事项清单",
        "slip_date": "日期",
        "print": "打印便条",
        "copy_full": "复制完整条目",
        # errors the page shows (with the English message after them)
        "error_empty": "问题是空的：请输入要办的事，例如“谁管流浪狗”。",
        "error_unsearchable": "问题里没有可以查找的文字（只有标点或符号）：请输入几个字说明要办的事。",
        "error_not_found": "没有找到：",
        "error_other": "出错了：",
        # a card's list badge: the list's own name (assistant.domain)
        **{f"list_{kind.value}": kind.zh for kind in ListKind},
    },
    "en": {
        "answer": "Answer from the list:",
        "not_found": "Nothing in the duty list answers this question.",
        "unlisted_fact": "The duty list says who handles what and how; it holds no phone numbers, hours, amounts or counts, conditions or eligibility, payment or application status, names or addresses, and it does not judge who is right.",
        "other_question": "The duty list says who handles what and how; it holds no weather forecasts, shops, repair services, opinions or advice (medicines included), or whether a call or message is genuine.",
        "possibly": "It is not certain which item of the list this is: the items below may be related; please check before answering.",
        "possibly_related": "Possibly related items (please check):",
        "reference": "Nearest items (for reference only; they do not answer the question):",
        "related": "Related items:",
        "unlisted_matter": "None of the three lists holds \"{matter}\".",
        "hint": "Hint (not from the list, for reference only): {hint}.",
        "outside_hint": "matters like “{matter}” usually go to {office}",
        "filter_on": "Searched only in {filters}.",
        "read_as": "Read in the list's words: {pairs}.",
        "outside_filter": "Without the filter, the best match is {citation} ({id}).",
        "matters": "This message raises {n} matters:",
        "matter": "Matter {i}",
        "whole_message": "For the message as a whole:",
        "tier_answer": "Answered by the list",
        "tier_possibly": "Please check",
        "tier_not_in_list": "Not in the list",
        "truncated": "The question was too long; only its first {n} characters were searched.",
        "basic": "The town handles this itself",
        "coop": "Led by {lead}; the town assists",
        "reclaimed": "The town no longer handles this; send the person to {receiver}",
        "lead": "Lead bodies",
        "receiver": "Receiving body",
        "category": "Category",
        "score": "match score",
        "town_steps": "The town's part",
        "upper_steps": "County department's part",
        "receiver_steps": "Receiving body and how it works",
        "clauses": "Tasks",
        "matched_steps": "What matched",
        "full_entry": "Show the full entry",
        "copy": "Copy answer",
        "copied": "Copied",
        "copy_failed": "Copy failed; select the text by hand",
        "leads": "leads",
        "takes_over": "took it over",
        "has_steps": "has steps in it",
        "no_duties": "No duty matches.",
        "group_basic": "Basic duties (the town's own, mentioning this body)",
        "group_coop": "Cooperative duties (this body leads or takes part; the town assists)",
        "group_reclaimed": "Reclaimed duties (this body took them over from the town)",
        "role_answer": "Answer",
        "role_related": "Related",
        "role_possibly": "Please check",
        "role_reference": "Reference only",
        "item_no": "No. {n}",
        "step_no": "step {n}",
        "title": "Item",
        "title_more": "show in full",
        "review": "For reviewers",
        "citation": "Citation",
        "named": "named in a step",
        "named_note": "{body} is named in this item's steps",
        "body_count": "{body}: {n} duties{scope}",
        "body_count_all": "{body} has {n} duties in the list",
        "body_link": "All {n} duties of {body} on the Departments tab →",
        "body_list": "Every duty",
        "slip": "Slip for the citizen",
        "slip_title": "Where to go",
        "slip_matter": "Matter",
        "slip_who": "Who handles it",
        "slip_bodies": "Full names",
        "slip_town": "What the town does",
        "slip_town_none": "The town no longer handles this; please go to the receiving body.",
        "slip_more": "(the other {n} steps: see the list)",
        "slip_source": "Source",
        "slip_list": "Duty list",
        "slip_date": "Date",
        "print": "Print the slip",
        "copy_full": "Copy full entry",
        "error_empty": "The question is empty: type what the person needs, e.g. who handles stray dogs.",
        "error_unsearchable": "The question has no words to search for (only punctuation or symbols): type a few words about the matter.",
        "error_not_found": "Not found: ",
        "error_other": "Something went wrong: ",
        **{f"list_{kind.value}": kind.en.capitalize() for kind in ListKind},  # "Basic duty", …
    },
}

# The town's part first: the people reading a card work at the town's front desk and act on that part; the
# county body's part and the receiving body follow.
SIDE_ORDER = (Side.TOWN, Side.UPPER, Side.RECEIVER)

_HasSide = TypeVar("_HasSide")


def labels_for(lang: str) -> dict[str, str]:
    """The labels for a question's language: English for "en"; for Uyghur and Kazakh ("ug", "kk", "kk-Arab") the
    Chinese ones with that language beside them (assistant.glossary); Chinese for anything else (zh, mixed)."""
    from assistant import glossary

    if lang in glossary.LANGUAGES:
        return glossary.beside(LABELS["zh"], lang)
    return LABELS["en" if lang == "en" else "zh"]


def side_heading(labels: dict[str, str], list_value: str, side: str) -> str:
    """A side's heading on a card; a basic duty has only the town's clauses, headed as tasks."""
    return labels["clauses"] if list_value == ListKind.BASIC.value else labels[f"{side}_steps"]


def by_side(steps: Iterable[_HasSide]) -> list[tuple[str, list[_HasSide]]]:
    """(side, its steps) in SIDE_ORDER, sides without steps left out; steps keep their order within a side.

    Args:
        steps: anything with a `side` attribute holding a `Side` value ("town", "upper", "receiver").
    Returns:
        [(side value, [steps of that side]), …]
    """
    steps = list(steps)
    groups = [(side.value, [s for s in steps if s.side == side.value]) for side in SIDE_ORDER]
    return [(side, group) for side, group in groups if group]


def in_side_order(steps: Sequence[_HasSide]) -> list[_HasSide]:
    """The same steps, the town's first (a stable sort: the list's order within a side is kept)."""
    return [s for _, group in by_side(steps) for s in group]
