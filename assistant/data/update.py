"""Next year's list: align it with this year's, carry the hand-kept data over by content, report, apply.

    duty-assistant list update data/new/banjiegou-2026.txt            # report only (Markdown + JSON)
    duty-assistant list update data/new/banjiegou-2026.txt --apply    # swap the new list in

Alignment (`align`): every new duty is compared with every current one by its title and its text —
character-bigram overlap (Dice) of the titles and of the whole text, and, when a model is given, the cosine of
the title embeddings — and pairs are chosen one-to-one (Hungarian assignment, scipy) among those scoring at
least `threshold`. A new duty without a partner is *added*, a current one without a partner *removed*; a pair
is *unchanged*, or any of *renumbered* (序号 changed), *moved* (to another list), *text changed*.

Carried over by content, not by number: the stable key (assistant/data/keys.py, via the new source's
`.keys.tsv`), so the similar questions follow their duty; lexicon source notes that cite ids are re-pointed;
department aliases follow a renamed county body (the old name stays as an alias); question files under
eval/questions are re-pointed. Similar questions whose duty was removed go to data/similar_orphans.jsonl with
the nearest new duty suggested, for a person to decide in the Review desk (`review orphans`).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from assistant.data.keys import unique
from assistant.domain import Duty
from assistant.errors import UpdateError

DEFAULT_THRESHOLD = 0.45
ID_PATTERN = re.compile(r"\b(basic|coop|reclaimed)-(\d+)\b")


# -- alignment (pure, apart from the optional embedding function) --------------------------------------------


def bigrams(text: str) -> set[str]:
    text = re.sub(r"\s+", "", text or "")
    return {text[i:i + 2] for i in range(len(text) - 1)} or ({text} if text else set())


def dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def duty_body(duty: Duty) -> str:
    return "\n".join([duty.title, *(s.text for s in duty.steps)])


def similarity(old: list[Duty], new: list[Duty], embed=None) -> np.ndarray:
    """old × new scores in 0..1: title overlap, text overlap and (with `embed`: texts → unit vectors) title cosine."""
    title_old, title_new = [bigrams(d.title) for d in old], [bigrams(d.title) for d in new]
    body_old, body_new = [bigrams(duty_body(d)) for d in old], [bigrams(duty_body(d)) for d in new]
    titles = np.array([[dice(a, b) for b in title_new] for a in title_old])
    bodies = np.array([[dice(a, b) for b in body_new] for a in body_old])
    if embed is None:
        return 0.6 * titles + 0.4 * bodies
    vectors_old, vectors_new = embed([d.title for d in old]), embed([d.title for d in new])
    cosine = np.clip(vectors_old @ vectors_new.T, 0.0, 1.0)
    return 0.4 * cosine + 0.35 * titles + 0.25 * bodies


@dataclass
class Pair:
    old: Duty
    new: Duty
    score: float

    @property
    def changes(self) -> list[str]:
        found = []
        if self.old.list is not self.new.list:
            found.append("moved")
        elif self.old.number != self.new.number:
            found.append("renumbered")
        if (self.old.title, self.old.category, self.old.departments, [s.text for s in self.old.steps]) != \
                (self.new.title, self.new.category, self.new.departments, [s.text for s in self.new.steps]):
            found.append("text changed")
        return found


@dataclass
class Alignment:
    pairs: list[Pair]
    added: list[Duty]
    removed: list[tuple[Duty, Duty | None, float]]  # (old duty, nearest new duty, its score)
    threshold: float

    def old_to_new(self) -> dict[str, Duty]:
        return {p.old.id: p.new for p in self.pairs}

    def counts(self) -> dict[str, int]:
        out = {"pairs": len(self.pairs), "unchanged": sum(not p.changes for p in self.pairs),
               "added": len(self.added), "removed": len(self.removed)}
        for kind in ("renumbered", "moved", "text changed"):
            out[kind] = sum(kind in p.changes for p in self.pairs)
        return out


def align(old: list[Duty], new: list[Duty], embed=None, threshold: float = DEFAULT_THRESHOLD) -> Alignment:
    """One-to-one alignment of the new list's duties with the current ones (see the module docstring)."""
    from scipy.optimize import linear_sum_assignment

    scores = similarity(old, new, embed)
    rows, cols = linear_sum_assignment(-scores)
    pairs = [Pair(old[r], new[c], float(scores[r, c])) for r, c in zip(rows, cols) if scores[r, c] >= threshold]
    paired_old = {p.old.id for p in pairs}
    paired_new = {p.new.id for p in pairs}
    added = [d for d in new if d.id not in paired_new]
    removed = []
    for i, duty in enumerate(old):
        if duty.id not in paired_old:
            j = int(np.argmax(scores[i])) if len(new) else -1
            removed.append((duty, new[j] if j >= 0 else None, float(scores[i, j]) if j >= 0 else 0.0))
    pairs.sort(key=lambda p: (p.new.list.value, p.new.number))
    return Alignment(pairs, added, removed, threshold)


def carry_keys(alignment: Alignment, new: list[Duty]) -> list[Duty]:
    """The new duties with the keys of their partners; an added duty keeps its content key (made unique)."""
    from dataclasses import replace

    carried = {p.new.id: p.old.key for p in alignment.pairs}
    taken = set(carried.values())
    out = []
    for duty in new:
        key = carried.get(duty.id)
        if key is None:
            key = unique(duty.key, taken)
        taken.add(key)
        out.append(replace(duty, key=key))
    return out


# -- the plan: everything the update would write ------------------------------------------------------------


@dataclass
class UpdatePlan:
    source: Path
    alignment: Alignment
    new_duties: list[Duty]  # with carried keys
    similar_rows: list[dict]  # the new data/similar_questions.jsonl
    orphans: list[dict]  # similar questions whose duty was removed
    lexicon_text: str
    lexicon_notes: list[str]  # entries whose official words no longer occur, or whose cited ids are gone
    aliases: dict  # the new data/department_aliases.json
    renamed_bodies: dict[str, str]
    question_files: dict[Path, tuple[str, int, list[str]]] = field(default_factory=dict)  # path → (text, changed, lost)

    def summary(self) -> str:
        c = self.alignment.counts()
        return (f"{len(self.new_duties)} duties in the new list: {c['unchanged']} unchanged, {c['renumbered']} renumbered, "
                f"{c['moved']} moved between lists, {c['text changed']} with changed text, {c['added']} added, "
                f"{c['removed']} removed; {len(self.similar_rows)} similar questions carried over, "
                f"{len(self.orphans)} left without a duty")


def _new_id_map(alignment: Alignment) -> dict[str, str]:
    return {p.old.id: p.new.id for p in alignment.pairs}


def plan_update(settings, source: Path, embed=None, threshold: float = DEFAULT_THRESHOLD) -> UpdatePlan:
    """Parse `source`, align it with the current list and work out every file the update would write."""
    from assistant.data.keys import content_key
    from assistant.data.store import load_duties, load_hand_departments, parse_source, read_similar_rows
    from assistant.search.cues import load_lexicon

    old = load_duties(settings.duties)
    new, registry = parse_source(source, settings.department_aliases)
    new = [d if d.key else d for d in new]
    from dataclasses import replace

    new = [replace(d, key=content_key(d.list.value, d.title)) for d in new]  # keys beside NEW are ignored
    alignment = align(old, new, embed, threshold)
    new = carry_keys(alignment, new)
    by_key_new = {d.key: d for d in new}
    by_key_old = {d.key: d for d in old}
    by_id_old = {d.id: d for d in old}
    nearest = {o.id: (n, s) for o, n, s in alignment.removed}

    similar_rows, orphans = [], []
    for row in read_similar_rows(settings.similar_questions):
        old_duty = by_key_old.get(row.get("key")) or by_id_old.get(row.get("duty"))
        key = old_duty.key if old_duty else row.get("key")
        if key in by_key_new:
            similar_rows.append({**row, "key": key, "duty": by_key_new[key].id})
        else:
            suggestion, score = nearest.get(old_duty.id if old_duty else "", (None, 0.0))
            orphans.append({"question": row["question"], "old_key": key, "old_id": old_duty.id if old_duty else row.get("duty"),
                            "old_title": old_duty.title if old_duty else "", "suggested_id": suggestion.id if suggestion else None,
                            "suggested_key": suggestion.key if suggestion else None, "score": round(score, 3),
                            "lang": row.get("lang", "")})
    rank = {d.key: i for i, d in enumerate(new)}
    similar_rows.sort(key=lambda r: rank[r["key"]])

    id_map = _new_id_map(alignment)
    new_text = "\n".join(t for d in new for t in (d.category, d.title, *(s.text for s in d.steps)))
    lexicon_lines, notes = [], []
    if settings.lexicon.exists():
        official_lost = {e.everyday for e in load_lexicon(settings.lexicon) if not any(t in new_text for t in e.official)}
        for number, line in enumerate(settings.lexicon.read_text(encoding="utf-8").splitlines(), start=1):
            cells = line.split("\t")
            if number > 1 and len(cells) >= 3 and not line.startswith("#"):
                gone = [m.group() for m in ID_PATTERN.finditer(cells[2]) if m.group() not in id_map]
                cells[2] = ID_PATTERN.sub(lambda m: id_map.get(m.group(), m.group() + "(removed)"), cells[2])
                if gone:
                    notes.append(f"lexicon line {number} ({cells[0]}): cites {', '.join(gone)}, removed from the list")
                if cells[0] in official_lost:
                    notes.append(f"lexicon line {number} ({cells[0]} → {cells[1]}): the new list no longer uses these words")
                line = "\t".join(cells)
            lexicon_lines.append(line)
    lexicon_text = "\n".join(lexicon_lines) + ("\n" if lexicon_lines else "")

    aliases = load_hand_departments(settings.department_aliases)
    renamed: dict[str, str] = {}
    new_bodies = {name for d in new for name in d.departments}  # bodies the new list names as lead or receiver
    for pair in alignment.pairs:
        if len(pair.old.departments) == len(pair.new.departments):
            for a, b in zip(pair.old.departments, pair.new.departments):
                if a != b and a not in new_bodies and b not in aliases.get("bodies", {}):
                    renamed[a] = b
    bodies = dict(aliases.get("bodies", {}))
    for old_name, new_name in renamed.items():
        entry = dict(bodies.pop(old_name, {}) or {})
        entry["aliases"] = list(dict.fromkeys([*entry.get("aliases", []), old_name]))
        bodies[new_name] = entry
    aliases = {**aliases, "bodies": bodies}

    files = {}
    for path in sorted((settings.root / "eval" / "questions").glob("*.jsonl")):
        text, changed, lost = _remap_questions(path, id_map)
        if changed or lost:
            files[path] = (text, changed, lost)
    return UpdatePlan(source, alignment, new, similar_rows, orphans, lexicon_text, notes, aliases, renamed, files)


def _remap_questions(path: Path, id_map: dict[str, str]) -> tuple[str, int, list[str]]:
    """A question file with its duty ids re-pointed; (text, lines changed, question ids that lost a duty)."""
    lines, changed, lost = [], 0, []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            lines.append(raw)
            continue
        row = json.loads(raw)
        relevant = [id_map.get(r) for r in row.get("relevant", [])]
        if None in relevant:
            lost.append(str(row.get("id")))
        new_relevant = [r for r in relevant if r]
        primary = row.get("primary")
        new_primary = id_map.get(primary) if primary else primary
        if new_relevant != row.get("relevant", []) or new_primary != primary:
            changed += 1
            row = {**row, "relevant": new_relevant, **({"primary": new_primary} if "primary" in row else {})}
            raw = json.dumps(row, ensure_ascii=False)
        lines.append(raw)
    return "\n".join(lines) + "\n", changed, lost


# -- the report ----------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return (text or "").replace("|", "｜").replace("\n", "<br>")


def _side(duty: Duty) -> str:
    steps = "<br>".join(f"{s.order}. {_cell(s.text)}" for s in duty.steps)
    bodies = "、".join(duty.departments)
    return (f"**{duty.id}** {duty.list.zh} 第{duty.number}项 · {_cell(duty.category)}<br>**{_cell(duty.title)}**"
            + (f"<br>{_cell(bodies)}" if bodies else "") + (f"<br>{steps}" if steps and duty.list.value != "basic" else ""))


def report_markdown(plan: UpdatePlan) -> str:
    a = plan.alignment
    c = a.counts()
    out = [f"# List update: {plan.source.name}", "",
           f"Written by `duty-assistant list update {plan.source}` on "
           f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; run it again to regenerate. "
           f"Alignment threshold {a.threshold}.", "", plan.summary(), "",
           "| change | duties |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in c.items()]
    sections = [("Moved between lists", [p for p in a.pairs if "moved" in p.changes]),
                ("Text changed", [p for p in a.pairs if "text changed" in p.changes]),
                ("Renumbered", [p for p in a.pairs if p.changes == ["renumbered"]])]
    for title, pairs in sections:
        out += ["", f"## {title} ({len(pairs)})", ""]
        if not pairs:
            out.append("None.")
            continue
        if title == "Renumbered":
            out += ["| before | after | title | score |", "|---|---|---|---|"]
            out += [f"| {p.old.id} | {p.new.id} | {_cell(p.new.title)} | {p.score:.2f} |" for p in pairs]
            continue
        out += ["| before | after | score |", "|---|---|---|"]
        out += [f"| {_side(p.old)} | {_side(p.new)} | {p.score:.2f} |" for p in pairs]
    out += ["", f"## Added ({len(a.added)})", ""]
    out += [f"- {_side(d)}" for d in a.added] or ["None."]
    out += ["", f"## Removed ({len(a.removed)})", "", "The nearest new duty is a suggestion only (it scored below the threshold).", ""]
    out += [f"- {_side(d)} — nearest new: {n.id if n else '-'} ({s:.2f})" for d, n, s in a.removed] or ["None."]
    out += ["", f"## Similar questions without a duty ({len(plan.orphans)})", "",
            "They go to data/similar_orphans.jsonl on `--apply`; decide in the Review desk or with "
            "`duty-assistant review orphans LINE… --duty ID` / `--drop`.", ""]
    out += [f"- {_cell(o['question'])} (was {o['old_id']}; nearest now {o['suggested_id'] or '-'})" for o in plan.orphans] or ["None."]
    out += ["", "## Other hand-kept data", ""]
    out += [f"- county body renamed: {a_} → {b} (aliases carried over, the old name kept as an alias)"
            for a_, b in plan.renamed_bodies.items()]
    out += [f"- {note}" for note in plan.lexicon_notes]
    out += [f"- {path.name}: {changed} question(s) re-pointed" + (f"; lost their duty: {', '.join(lost)}" if lost else "")
            for path, (_, changed, lost) in plan.question_files.items()]
    if not (plan.renamed_bodies or plan.lexicon_notes or plan.question_files):
        out.append("Nothing else changes.")
    return "\n".join(out) + "\n"


def report_json(plan: UpdatePlan) -> dict:
    a = plan.alignment
    return {"source": str(plan.source), "summary": plan.summary(), "counts": a.counts(), "threshold": a.threshold,
            "pairs": [{"old": p.old.id, "new": p.new.id, "key": p.old.key, "score": round(p.score, 3),
                       "changes": p.changes, "old_title": p.old.title, "new_title": p.new.title} for p in a.pairs],
            "added": [{"id": d.id, "title": d.title} for d in a.added],
            "removed": [{"id": d.id, "title": d.title, "nearest": n.id if n else None, "score": round(s, 3)}
                        for d, n, s in a.removed],
            "orphans": plan.orphans, "lexicon_notes": plan.lexicon_notes, "renamed_bodies": plan.renamed_bodies}


def write_report(settings, plan: UpdatePlan) -> tuple[Path, Path]:
    from assistant.data.store import write_atomic

    folder = settings.updates
    folder.mkdir(parents=True, exist_ok=True)
    md, js = folder / f"{plan.source.stem}.md", folder / f"{plan.source.stem}.json"
    write_atomic(md, report_markdown(plan))
    write_atomic(js, json.dumps(report_json(plan), ensure_ascii=False, indent=1) + "\n")
    return md, js


# -- applying ------------------------------------------------------------------------------------------------


def apply_update(settings, plan: UpdatePlan, by: str) -> dict:
    """Swap the new list in: source, keys file, duties, departments, similar questions, orphans, lexicon,
    department aliases, question files — each written atomically, under the data lock, with an audit line."""
    from assistant.data.keys import keys_file, write_carried
    from assistant.data.store import jsonl, parse_source, render, similar_rows_text, write_atomic
    from assistant.review.changes import audit, data_lock, read_orphans

    source_dir = settings.source_dir
    with data_lock(settings):
        target = source_dir / plan.source.name
        if target.exists() and target.resolve() != plan.source.resolve():
            raise UpdateError(f"{target} exists already; rename the new list's file")
        previous = source_dir / "previous"
        previous.mkdir(parents=True, exist_ok=True)
        for old in list(source_dir.glob("*.txt")) + list(source_dir.glob("*.keys.tsv")):
            if old.resolve() != plan.source.resolve():
                shutil.move(str(old), previous / old.name)
        if plan.source.resolve() != target.resolve():
            shutil.copyfile(plan.source, target)
        by_new = {d.id: d for d in plan.new_duties}
        carried = [(p.new.id, p.old.key, f"{p.old.id} {p.old.title[:30]}") for p in plan.alignment.pairs]
        write_carried(keys_file(target), carried + [(d.id, d.key, "added") for d in plan.alignment.added])
        write_atomic(source_dir / "CURRENT", target.name + "\n")
        write_atomic(settings.department_aliases, json.dumps(plan.aliases, ensure_ascii=False, indent=1) + "\n")
        duties, registry = parse_source(target, settings.department_aliases)
        if [d.key for d in duties] != [by_new[d.id].key for d in duties]:
            raise UpdateError("the parsed list does not carry the planned keys (a bug); nothing else was changed")
        duties_text, departments_text = render(duties, registry)
        write_atomic(settings.duties, duties_text)
        write_atomic(settings.departments, departments_text)
        write_atomic(settings.similar_questions, similar_rows_text(plan.similar_rows))
        if plan.orphans:
            kept = [{k: v for k, v in o.items() if k != "_line"} for o in read_orphans(settings)]
            write_atomic(settings.similar_orphans, jsonl(kept + plan.orphans))
        if plan.lexicon_text:
            write_atomic(settings.lexicon, plan.lexicon_text)
        for path, (text, _, _) in plan.question_files.items():
            write_atomic(path, text)
        return audit(settings, by, "list_update", plan.summary(), source=target.name, counts=plan.alignment.counts())


# -- command line --------------------------------------------------------------------------------------------


def add_arguments(p) -> None:
    from assistant.options import add_config_options

    p.add_argument("action", choices=["update"])
    p.add_argument("source", help="the new list, as tab-separated text (the same shape as data/source/*.txt)")
    p.add_argument("--apply", action="store_true", help="swap the new list in (default: report only)")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                   help=f"lowest alignment score of a pair (default {DEFAULT_THRESHOLD})")
    p.add_argument("--no-model", action="store_true", help="align by character overlap only (no embedding model)")
    p.add_argument("--report", help="also write the Markdown report here")
    p.add_argument("--by", help="who applies it (default: your login name)")
    add_config_options(p)


def embedder(config):
    """Title → unit vector with the configured model (document side, cached on disk)."""
    from assistant import models
    from assistant.search.encode import Encoder

    ref = models.resolve(config.model)
    encoder = Encoder(models.load(ref, backend=config.backend, quantize_queries=False), ref.weights_sha256,
                      config.dim, memo=0)
    return lambda texts: encoder.documents(texts, progress=False)


def main(args) -> int:
    import getpass

    from assistant.options import config_from
    from assistant.settings import current

    settings = current()
    source = Path(args.source)
    embed = None if args.no_model else embedder(config_from(args))
    plan = plan_update(settings, source, embed, args.threshold)
    md, js = write_report(settings, plan)
    if args.report:
        Path(args.report).write_text(md.read_text(encoding="utf-8"), encoding="utf-8")
    print(plan.summary())
    print(f"change report: {args.report or md} (also in the Review desk)")
    if not args.apply:
        print("nothing changed; run again with --apply to swap the new list in")
        return 0
    apply_update(settings, plan, args.by or getpass.getuser())
    print("applied. Next: `duty-assistant index build` (only new and changed text is encoded), "
          "`duty-assistant calibrate`, `make eval`; restart a running server")
    return 0
