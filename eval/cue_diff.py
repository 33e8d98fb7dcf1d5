"""Which stored questions a change of data/question_cues.json reads differently.

Every question the project stores — the question sets (eval/questions/), the banks of phrasings (eval/cues/), the
similar questions and the questions about matters no list holds (data/) — is read by the cues of two files, as
retrieval reads it (cleaned: ，→ , and ？→ ?); a question whose reading differs is printed with what each file found
(a fact no list holds, a kind of question no list answers, a matter no list holds) and whether a duty answers it.
Run it before committing a cue change: a new cue should move out-of-scope questions only. Both files are read by the
current code, so a change of how cues are read (assistant/search/cues.py) is not compared: measure that by reading
`stored_questions()` with the old and the new code.

    .venv/bin/python eval/cue_diff.py OLD_CUES.json [NEW_CUES.json]   # NEW defaults to data/question_cues.json
    git show HEAD:data/question_cues.json > /tmp/old.json && .venv/bin/python eval/cue_diff.py /tmp/old.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.data.store import read_jsonl  # noqa: E402
from assistant.search.config import RetrievalConfig  # noqa: E402
from assistant.search.cues import QuestionCues, load_question_cues  # noqa: E402
from assistant.search.query import clean  # noqa: E402


class Stored(NamedTuple):
    where: str  # file and id (or duty)
    text: str
    answerable: bool  # a duty answers it (a labelled question, a similar question, a bank's control)


def stored_questions(root: Path = ROOT) -> list[Stored]:
    """Every question the project stores, with whether a duty answers it."""
    found: list[Stored] = []
    rows = lambda path: read_jsonl(path, path.name, "Restore it with `git checkout -- " + str(path) + "`.")

    for path in sorted((root / "eval" / "questions").glob("*.jsonl")):
        found += [Stored(f"{path.name}:{r['id']}", r["question"], bool(r["relevant"])) for r in rows(path)]
    for path in sorted((root / "eval" / "cues").glob("*.jsonl")):
        found += [Stored(f"{path.name}:{r.get('kind', '')}", r["question"],
                         r.get("kind") == "control" or bool(r.get("duty"))) for r in rows(path)]
    similar = root / "data" / "similar_questions.jsonl"
    if similar.exists():
        found += [Stored(f"similar:{r.get('duty', r.get('key'))}", r["question"], True) for r in rows(similar)]
    outside = root / "data" / "outside_questions.jsonl"
    if outside.exists():
        found += [Stored("outside", r["question"], False) for r in rows(outside)]
    return found


def reading(cues: QuestionCues, text: str) -> tuple[str, str, str, str]:
    """(a fact no list holds, a kind no list answers, a matter no list holds, how much or when asked — the soft
    `asks_fact` cues, a confidence feature): the words each cue group found."""
    read, _ = clean(text, RetrievalConfig().max_chars)
    return (cues.unlisted_fact(read), cues.other_question(read), cues.unlisted_matter(read)[0],
            cues.fact_question(read))


def differences(old: QuestionCues, new: QuestionCues, questions: list[Stored]) -> list[tuple[Stored, tuple, tuple]]:
    """The questions whose reading differs, with the old and the new reading."""
    changed = []
    for question in questions:
        before, after = reading(old, question.text), reading(new, question.text)
        if before != after:
            changed.append((question, before, after))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="the question_cues.json to compare with (e.g. the last commit's)")
    parser.add_argument("new", type=Path, nargs="?", default=ROOT / "data" / "question_cues.json")
    args = parser.parse_args(argv)
    for path in (args.old, args.new):
        if not path.exists():
            parser.error(f"{path} not found; write the old file with `git show HEAD:data/question_cues.json > FILE`")
    questions = stored_questions()
    changed = differences(load_question_cues(args.old), load_question_cues(args.new), questions)
    for question, before, after in changed:
        kind = "ANSWERABLE" if question.answerable else "out of scope"
        print(f"{kind:12} {question.where}: {before} -> {after}  {question.text[:70]}")
    moved = sum(q.answerable for q, _, _ in changed)
    print(f"{len(changed)} of {len(questions)} stored questions read differently; {moved} of them answerable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
