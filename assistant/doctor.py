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
    "outside questions": "fix the line by hand or restore it with `git checkout -- data/outside_questions.jsonl`",
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
    from assistant.search.index import load_index, read_manifest, recover_swap
    from assistant.data.store import (load_duties, load_outside_questions, load_registry, load_similar_questions,
                                      parse_source, render)

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
    results.append(_run("outside questions", lambda: f"{len(load_outside_questions())} questions about matters the "
                                                     "list does not hold"))

    def model():
        ref = models.resolve(config.model)  # the load-time check: every file has its recorded sha256
        if full and ref.id in models.MODELS:
            spec = models.MODELS[ref.id]
            mark = models.check_marked(ref.folder, full=True)
            models.verify(ref.folder, spec.hashes or mark["weights"])
            checked = f"{ref.id}: every weight file matches its sha256, and every other file the one recorded"
        else:
            checked = (f"{ref.id}: every file has its recorded sha256 (big files re-read when their size, mtime, "
                       "ctime or inode changed; use --full to re-hash all)")
        return f"{checked}; backend: {backend(ref, config, full)}"

    results.append(_run("model", model))

    data_failed = [c.name for c in results if not c.ok]

    def index():
        ref = models.resolve(config.model)
        folder = config_index_dir(config, ref.id)
        inputs = index_inputs(config)
        if data_failed:  # an index "stale" only because a data file is damaged is fixed by fixing the data
            recover_swap(folder)
            manifest = read_manifest(folder)
            changed = sorted(name for name in set(inputs) | set(manifest.inputs)
                             if manifest.inputs.get(name) != inputs.get(name))
            if changed:
                raise RuntimeError(f"{folder} was built from other data ({', '.join(changed)}); fix the data problems "
                                   "above first (`duty-assistant parse`), then run `duty-assistant doctor` again")
        loaded = load_index(folder, model=ref.id, weights=ref.weights_sha256, inputs=inputs)
        m = loaded.manifest
        return f"{folder}: {m.unit_count} units, dim {m.dimension}, built {m.built_at}"

    results.append(_run("index", index))

    def calibration():
        from assistant.search import confidence

        problem = confidence.check(current().calibration)
        if problem:
            raise RuntimeError(problem)
        fitted = confidence.Calibration.load(current().calibration)
        wanted = models.resolve(config.model).id
        if fitted.model != wanted:
            raise RuntimeError(f"{current().calibration} was fitted for {fitted.model}, not {wanted}: the plain "
                               "decline rule is used; run `duty-assistant calibrate`")
        dev = fitted.fitted_on.get("dev_out_of_fold", {})
        return (f"answer confidence fitted on {fitted.fitted_on.get('count', '?')} dev questions for {fitted.model}; "
                f"on dev, out of fold: confidently wrong {dev.get('confidently_wrong')}, right and answered "
                f"{dev.get('right_and_answered')}")

    results.append(_run("answer confidence", calibration))

    def question_kind():
        from assistant.search.question_kind import QuestionKind

        kind = QuestionKind.load(current().question_kind)
        if kind is None:
            raise RuntimeError(f"{current().question_kind} is missing, so the confidence reads no learnt kind of "
                               "question; run `duty-assistant calibrate`")
        return (f"question kind learnt from {kind.fitted_on.get('questions', '?')} bank questions "
                f"(banks {', '.join(kind.fitted_on.get('banks', {}))})")

    results.append(_run("question kind", question_kind))
    return results


def backend(ref, config, full: bool = False) -> str:
    """Which backend a start would answer with, and why not ONNX Runtime when `auto` would fall back to torch.
    A damaged ONNX export raises (ModelError naming the fix): it is refused at load, never answered from."""
    from assistant.models import onnx as onnx_model

    chosen = config.backend if config.backend != "auto" else current().backend
    if chosen == "torch":
        return "torch (as configured)"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "torch, not ONNX Runtime: onnxruntime is not installed"
    registered = ref.id in models.MODELS
    folder = onnx_model.export_folder(ref.folder, ref.weights_sha256, registered)
    problem = onnx_model.export_problem(folder, ref.folder, ref.weights_sha256)
    if problem:
        return (f"ONNX Runtime after a one-time export at the next start ({problem}; "
                "`duty-assistant model fetch` exports it now)")
    damage = onnx_model.export_damage(folder, full=full)
    if damage:
        raise models.ModelError(f"the ONNX copy of the model is damaged: {damage}; "
                                f"{onnx_model.repair_hint(ref.folder, folder, registered)}")
    try:  # what a start does first: open the question-encoding session
        model = onnx_model.OnnxModel(folder, ref.folder, quantize_queries=config.quantize_queries)
    except Exception as err:  # noqa: BLE001 — a start would fall back to torch: say so
        return f"torch, not ONNX Runtime: its copy of the model does not load ({type(err).__name__}: {str(err)[:160]})"
    note = models.backend_note(model)
    return f"{note}; the ONNX copy has the sha256 recorded at export"


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
