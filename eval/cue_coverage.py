"""How many ways of asking for a fact no list holds, or for advice, the question cues recognise (eval/cues/).

Banks of phrasings written for this by helpers who saw only the list and domain.md (eval/README.md says who wrote
which and what each was used for): bank-a and bank-b (300 each, Chinese) and bank-d (300, English) hold 210 questions
about listed topics that only their kind makes unanswerable (an amount, a date, a contact, whether a payment came, an
age or income line, advice, a forecast or a shop, whether a call is genuine) and 90 controls a duty answers, many with
tempting words (天气冷了老人取暖有困难找谁); bank-e (103, English) is the same kinds, kept as a check no cue was written
from. For each kind: how many questions a cue of data/question_cues.json recognises (`unanswerable`: never answered as
certain; `asks_other`: a confidence feature; `asks_fact`: a weaker one), and how the whole assistant tiers them.
bank-f (240), bank-h (210) and bank-g (135, kept as a check no cue was written from) hold three more kinds — whether a
person qualifies, an opinion (who is right, is it fair, should I accept), how far one's own application or case has
got — and controls, each naming the duty that answers it. bank-i (240) and bank-j (135, kept as a check no cue was
written from; twenty-second round) hold three more: a rumour checked (是真的吗), what will happen to a benefit, a rule or
a project (以后会不会涨), what a notice's or a form's words mean (啥意思, 有啥区别), and controls that use the same words
to ask who handles a matter. bank-c (300) holds matters of other offices and look-alikes a duty holds: only tiered.
bank-k (240, twenty-fourth round) holds more of those — 100 matters of other offices, 60 everyday matters of nobody on
the list, 80 look-alike controls — and is one of the banks the learnt kind of question is fitted on: only tiered.
bank-l (240, twenty-fourth round, kept as a check: the kind model does not learn from it; since the twenty-fifth round
its own-case questions and its controls wrote a cue and guards, so it is in sample for those) holds the everyday
grammatical forms fresh writers' unanswerable questions came in — A-not-A (合理不合理), advice asked of the listener
(你说我要不要), forecasts of nature and prices, bills compared, one's own case, venting, rumours, meanings — 20 of each,
and 80 controls in the same forms that ask who handles a matter. bank-m (240, twenty-seventh round; the kind model
learns from it) and bank-n (240, kept as a check no cue was written from) ask for advice on what to do oneself — a
doctor's (can I drink after the jab), a vet's (what to give a sick sheep), an agronomist's (which spray), a handyman's
(how to mend the gas valve) or whether a thing is safe (is the boiled well water safe) — 32 of each kind, and 80
controls in the same situations that ask who handles a matter (被狗咬了 打针的钱谁管); one control of bank-m (cm-004 两癌筛查
…要不要钱) asks whether a screening costs money and is counted as `amount`, as every question set labels a fee.

    .venv/bin/python eval/cue_coverage.py --report eval/cue-coverage.md [--baseline OLD_CUES.json]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.data.store import read_jsonl  # noqa: E402
from assistant.search.config import RetrievalConfig  # noqa: E402
from assistant.search.cues import QuestionCues, load_question_cues  # noqa: E402
from assistant.search.query import clean  # noqa: E402

BANKS = ("bank-a", "bank-b", "bank-d", "bank-e", "bank-f", "bank-h", "bank-g", "bank-i", "bank-j", "bank-l", "bank-m",
         "bank-n")
KINDS = ("amount", "time", "contact", "payment_status", "eligibility_number", "advice", "forecast_shopping",
         "genuine", "eligibility", "opinion", "progress", "rumour", "future", "meaning", "forecast", "own_case", "vent",
         "medical", "veterinary", "farming", "household", "safety", "control")


def load_bank(path: Path) -> list[dict]:
    return read_jsonl(path, "a bank of phrasings", "restore eval/cues/ from git")


def recognised(cues: QuestionCues, question: str) -> str:
    """'fact' (a precise cue: never certain), 'other' (a kind no list answers), 'soft' (how much / when), or ''.
    The question is read as retrieval reads it (cleaned: NFKC makes ，a plain comma and ？ a plain question mark)."""
    question, _ = clean(question, RetrievalConfig().max_chars)
    if cues.unlisted_fact(question):
        return "fact"
    if cues.other_question(question):
        return "other"
    return "soft" if cues.fact_question(question) else ""


def other_offices(assistant, rows: list[dict], title: str) -> list[str]:
    """bank-c and bank-k: matters no duty holds (an ID card, a divorce, a mortgage, a parcel …; in bank-k also everyday
    matters of nobody, one row) and look-alikes a duty holds (a 婚姻状况 certificate, splitting a household, a tractor's
    plates): how the assistant tiers them."""
    count, certain, right = Counter(), Counter(), Counter()
    for row in rows:
        result = assistant.search(row["question"])
        key = row["area"] if row["kind"] == "outside" else row["kind"]
        count[key] += 1
        certain[key] += result.tier == "answer"
        right[key] += bool(result.hits) and result.hits[0].duty.id == row["duty"] and result.tier == "answer"
    areas = sorted(k for k in count if k not in ("control", "everyday")) + (["everyday"] if count["everyday"] else [])
    matters = sum(count[a] for a in areas)
    lines = [f"## {title}", "",
             f"{matters} matters no duty holds, by area, and {count['control']} look-alike controls a duty holds "
             "(field `duty`). For the matters *certain* is a confidently wrong answer; for the controls, *certain and "
             "right* is the aim.", "", "| area | questions | certain |", "|---|---|---|"]
    lines += [f"| {area} | {count[area]} | {certain[area]} |" for area in areas]
    lines += [f"| **all matters** | {matters} | {sum(certain[a] for a in areas)} |", "",
              f"Controls: {count['control']}, certain {certain['control']}, certain and right {right['control']}.", ""]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", help="write a Markdown report here")
    parser.add_argument("--baseline", help="another question_cues.json to compare with (e.g. the last round's)")
    parser.add_argument("--no-tiers", action="store_true", help="cues only: do not load the assistant")
    args = parser.parse_args()
    folder = Path(__file__).resolve().parent / "cues"
    cues = load_question_cues()
    baseline = load_question_cues(Path(args.baseline)) if args.baseline else None
    assistant = None
    if not args.no_tiers:
        from assistant.api import Assistant

        assistant = Assistant.open()
    lines = ["# Question cues against the banks of phrasings", "",
             "Generated by `.venv/bin/python eval/cue_coverage.py --report eval/cue-coverage.md"
             + (" --baseline OLD.json`; baseline: " + Path(args.baseline).name if baseline else "`")
             + ". What the banks are: the script's docstring and "
             "eval/README.md. *Strong* = a cue of `unanswerable` (never answered as certain) or `asks_other` (a kind "
             "no list answers; a confidence feature); for controls, strong is a false alarm. *Certain* = the "
             "assistant's tier `answer`.", ""]
    for bank in BANKS:
        rows = load_bank(folder / f"{bank}.jsonl")
        count, strong, soft, old, certain, right = Counter(), Counter(), Counter(), Counter(), Counter(), Counter()
        for row in rows:
            kind, question = row["kind"], row["question"]
            count[kind] += 1
            how = recognised(cues, question)
            strong[kind] += how in ("fact", "other")
            soft[kind] += how == "soft"
            if baseline is not None:
                old[kind] += recognised(baseline, question) in ("fact", "other")
            if assistant is not None:
                result = assistant.search(question)
                certain[kind] += result.tier == "answer"
                right[kind] += (result.tier == "answer" and bool(result.hits) and "duty" in row
                                and result.hits[0].duty.id == row["duty"])
        head = "| kind | questions | strong cue | only how much / when |"
        head += " strong cue, baseline |" if baseline else ""
        head += " certain |" if assistant else ""
        lines += [f"## {bank}", "", head, "|" + "---|" * head.count(" |")]
        for kind in (k for k in KINDS if count[k]):
            cells = [kind, count[kind], strong[kind], soft[kind]] + ([old[kind]] if baseline else [])
            cells += [certain[kind]] if assistant else []
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
        facts = [k for k in KINDS if k != "control" and count[k]]
        total = ["**all but control**", sum(count[k] for k in facts), sum(strong[k] for k in facts),
                 sum(soft[k] for k in facts)] + ([sum(old[k] for k in facts)] if baseline else [])
        total += [sum(certain[k] for k in facts)] if assistant else []
        lines += ["| " + " | ".join(str(c) for c in total) + " |", ""]
        with_duty = sum(1 for row in rows if row["kind"] == "control" and "duty" in row)
        if assistant is not None and with_duty:
            lines += [f"Controls with a duty named: {with_duty}, certain and right {right['control']}.", ""]
    if assistant is not None:
        lines += other_offices(assistant, load_bank(folder / "bank-c.jsonl"), "bank-c: matters of other offices")
        lines += other_offices(assistant, load_bank(folder / "bank-k.jsonl"),
                               "bank-k: matters of other offices and everyday matters (the kind model learns from it)")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.report:
        Path(args.report).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
