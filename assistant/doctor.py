"""`duty-assistant doctor`: check data, departments, model files, index and manifest; say what to do.

Each check prints `ok` or `FAIL` with the problem and the command that fixes it; the exit status is 1 when
anything failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from assistant import models
from assistant.settings import current
@dataclass
class Check:
    name: str
    ok: bool
    detail: str


# The command that repairs each check, added to a failure whose message does not already name one.
FIXES = {
    "source and data": "run `duty-assistant parse` (or restore data/ with `git checkout -- data/`)",
    "duties": "run `duty-assistant parse`",
    "departments": "run `duty-assistant parse`",
    "similar questions": "fix the line by hand or restore it with `git checkout -- data/similar_questions.jsonl`",
    "model": "run `duty-assistant model fetch --force`",
    "index": "run `duty-assistant index build --force`",
}


def _run(name: str, fn: Callable[[], str]) -> Check:
    try:
        return Check(name, True, fn() or "")
    except Exception as err:  # every failure becomes a line of the report, never a traceback
        detail = str(err) or type(err).__name__
        if "`duty-assistant " not in detail and "`git " not in detail and name in FIXES:
            detail = f"{detail.rstrip('. ')}; {FIXES[name]}"
        return Check(name, False, detail)


def checks(config, full: bool = False) -> list[Check]:
    from assistant.api import config_index_dir, index_inputs
    from assistant.search.index import load_index
    from assistant.data.store import load_duties, load_registry, load_similar_questions, parse_source, render

    results = []

    def source():
        duties, registry = parse_source(current().default_source)
        duties_text, departments_text = render(duties, registry)
        for file, text in ((current().duties, duties_text), (current().departments, departments_text)):
            if not file.exists() or file.read_bytes() != text.encode("utf-8"):
                raise RuntimeError(f"{file} does not match the source document; run `duty-assistant parse`")
        return f"{current().default_source.name} parses; duties.jsonl and departments.jsonl are current"

    results.append(_run("source and data", source))
    results.append(_run("duties", lambda: f"{len(load_duties())} duties load"))
    results.append(_run("departments", lambda: f"{len(load_registry().departments)} county bodies"))
    results.append(_run("similar questions", lambda: f"{sum(map(len, load_similar_questions(known_ids={d.id for d in load_duties()}).values()))} questions"))

    def model():
        ref = models.resolve(config.model)
        if full and ref.id in models.MODELS:
            spec = models.MODELS[ref.id]
            models.verify(ref.folder, spec.hashes or models.check_marked(ref.folder)["weights"])
            return f"{ref.id}: every weight file matches its sha256"
        return (f"{ref.id}: files present with their verified sizes; files written since verification re-hashed "
                "(use --full to re-hash all)")

    results.append(_run("model", model))

    def index():
        ref = models.resolve(config.model)
        folder = config_index_dir(config, ref.id)
        loaded = load_index(folder, model=ref.id, weights=ref.weights_sha256, inputs=index_inputs(config))
        m = loaded.manifest
        return f"{folder}: {m.unit_count} units, dim {m.dimension}, built {m.built_at}"

    results.append(_run("index", index))
    return results


def main(args) -> int:
    from assistant.options import config_from

    config = config_from(args)
    failed = 0
    for check in checks(config, full=args.full):
        print(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
        failed += not check.ok
    if failed:
        print(f"\n{failed} problem(s). Run the command each line names; `make run` redoes every set-up step.")
        return 1
    print("\nEverything is in order.")
    return 0
