"""`duty-assistant`: one command with sub-commands, each thin over the Python API.

Errors a user can cause (bad question, missing model, damaged index, malformed source) print one clear
line saying what happened and what to do, and exit non-zero, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from assistant import __version__
from assistant.errors import DutyAssistantError, ModelError
from assistant.options import add_config_options, config_from
from assistant.settings import current


def json_line(value) -> str:
    """One JSON Lines line, Chinese as it is, but the characters some readers take for line breaks (U+0085,
    U+2028, U+2029: Python's str.splitlines does) escaped, so a question holding one stays on its line."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\u0085", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# -- parse ----------------------------------------------------------------------------------------------


def cmd_parse(args) -> int:
    from assistant.data.store import parse_source, render, write_atomic

    duties, registry = parse_source(Path(args.source), Path(args.aliases))
    duties_text, departments_text = render(duties, registry)
    out, dept_out = Path(args.out), Path(args.departments)
    if args.check:
        stale = [p for p, text in ((out, duties_text), (dept_out, departments_text))
                 if not p.exists() or p.read_text(encoding="utf-8") != text]
        if stale:
            print(f"out of date: {', '.join(map(str, stale))}; run `duty-assistant parse` and commit the result",
                  file=sys.stderr)
            return 1
        print(f"up to date: {len(duties)} duties, {len(registry.departments)} departments")
        return 0
    write_atomic(out, duties_text)
    write_atomic(dept_out, departments_text)
    counts = {}
    for d in duties:
        counts[d.list.value] = counts.get(d.list.value, 0) + 1
    print(f"wrote {out} ({', '.join(f'{k} {v}' for k, v in counts.items())}; "
          f"{sum(len(d.steps) for d in duties)} steps) and {dept_out} ({len(registry.departments)} departments)")
    return 0


# -- model ----------------------------------------------------------------------------------------------


def cmd_model(args) -> int:
    from assistant import models

    if args.action == "list":
        for name, spec in models.MODELS.items():
            ready = "ready" if (spec.folder / models.VERIFIED_MARK).exists() else "not fetched"
            default = " (default)" if name == models.DEFAULT_MODEL else ""
            print(f"{name}{default}: {spec.description} [{ready}; {spec.folder}]")
        return 0
    if args.action == "fetch":
        for name in args.names or [models.DEFAULT_MODEL]:
            folder = models.fetch(name, progress=not args.quiet, force=args.force)
            print(f"{name}: verified, in {folder}")
        return 0
    if args.action == "verify":
        name = args.names[0] if args.names else models.DEFAULT_MODEL
        spec = models.get_spec(name)
        mark = models.check_marked(spec.folder, full=True)  # every file, read in full
        models.verify(spec.folder, spec.hashes or mark["weights"])
        print(f"{name}: every weight file matches its sha256, and every other file the one recorded")
        if spec.reference_hashes:
            same = mark["weights"] == spec.reference_hashes
            print(f"{name}: {'bit-identical to' if same else 'built with other bits than'} our reference build"
                  + ("" if same else " (expected on another CPU or library version; eval/report.md measures it)"))
        if spec.recipe and mark.get("recipe") != spec.recipe():
            print(f"{name}: built from other data or settings than the current ones; run "
                  f"`duty-assistant model fetch {name}` to build it again", file=sys.stderr)
            return 1
        return 0
    return 2


# -- index ----------------------------------------------------------------------------------------------


def cmd_index(args) -> int:
    from assistant.api import build_index

    config = config_from(args)
    manifest, built = build_index(config, force=args.force, progress=not args.quiet, use_cache=not args.no_cache)
    _say_built(manifest, built)
    if config.model is None:  # the shipped model: its route for Uyghur and Kazakh questions gets its own index
        from assistant.api import build_route_index
        from assistant.settings import current

        try:
            route = build_route_index(current(), config, force=args.force, progress=not args.quiet,
                                      use_cache=not args.no_cache)
        except ModelError as err:  # the route's model is not fetched: the default index is all there is to build
            print(f"no index for Uyghur and Kazakh questions ({err})", file=sys.stderr)
            route = None
        if route:
            _say_built(*route)
    return 0


def _say_built(manifest, built: bool) -> None:
    if built:
        print(f"built index: {manifest.unit_count} units, dim {manifest.dimension}, model {manifest.model}, "
              f"{manifest.build_seconds:.1f} s")
    else:
        print(f"index is up to date ({manifest.unit_count} units, model {manifest.model}); use --force to rebuild")


# -- ask ------------------------------------------------------------------------------------------------


def cmd_ask(args) -> int:
    from assistant.render.text import render_text
    from assistant.api import Assistant

    from assistant.errors import QuestionError

    config = config_from(args)  # a bad --config is said before anything loads
    questions = args.question or []
    if not questions:
        if hasattr(sys.stdin, "reconfigure"):  # bytes that are not UTF-8 become U+FFFD, not a decoding error
            sys.stdin.reconfigure(errors="replace")
        questions = [line.strip() for line in sys.stdin if line.strip()]
        if not questions:  # nothing asked: say how to ask (it printed nothing and exited 0)
            raise QuestionError('no question given: type it after `ask` (duty-assistant ask "谁管流浪狗") or give '
                                "one per line on stdin")
    assistant = Assistant.open(config=config, build=args.build)

    failed = 0
    for number, question in enumerate(questions, start=1):
        try:
            answer = assistant.ask(question, k=args.k, list=args.list, department=args.department,
                                   category=args.category)
        except QuestionError as err:
            if len(questions) == 1:
                raise
            # a batch goes on: the error takes this question's place (its line, in JSON Lines) and the exit status is 1
            failed += 1
            print(f"duty-assistant ask: question {number}: error: {err}", file=sys.stderr)
            if args.json:
                print(json_line({"question": question, "error": str(err)}))
            continue
        if args.json:
            print(json_line(answer.to_json()))  # one JSON object per line (JSON Lines)
        else:
            print(render_text(answer, full=args.full))
            if len(questions) > 1:
                print("\n" + "─" * 40)
    return 1 if failed else 0


def cmd_departments(args) -> int:
    from assistant.data.store import load_registry

    registry = load_registry()
    for row in registry.to_rows():
        print(f"{row['name']}\t{'、'.join(row['short'])}\t{'、'.join(row['aliases'])}\t{row['en']}")
    return 0


# -- the rest: evaluation, web, health check, benchmarks (each in its own module) -------------------------


def cmd_eval(args) -> int:
    from assistant.evaluation.cli import main as eval_main

    return eval_main(args)


def cmd_calibrate(args) -> int:
    from assistant.evaluation.calibrate import main as calibrate_main

    return calibrate_main(args)


def cmd_serve(args) -> int:
    from assistant.web.app import serve

    return serve(args)


def cmd_doctor(args) -> int:
    from assistant.doctor import main as doctor_main

    return doctor_main(args)


def cmd_bench(args) -> int:
    from assistant.bench.cli import main as bench_main

    return bench_main(args)


def cmd_state(args) -> int:
    from assistant.review.cli import state_main

    return state_main(args)


def cmd_review(args) -> int:
    from assistant.review.cli import review_main

    return review_main(args)


def cmd_similar(args) -> int:
    from assistant.review.cli import similar_main

    return similar_main(args)


def cmd_list(args) -> int:
    from assistant.data.update import main as update_main

    return update_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="duty-assistant",
        description="Who handles this? Answers from a town's official duty lists (履职事项清单).",
    )
    parser.add_argument("--version", action="version", version=f"duty-assistant {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("parse", help="source document → data/duties.jsonl and data/departments.jsonl")
    p.add_argument("--source", default=str(current().default_source), help="the list, as tab-separated text")
    p.add_argument("--aliases", default=str(current().department_aliases), help="hand-kept department aliases (JSON)")
    p.add_argument("--out", default=str(current().duties))
    p.add_argument("--departments", default=str(current().departments))
    p.add_argument("--check", action="store_true", help="exit 1 if the committed files are out of date")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("model", help="fetch, list or verify embedding models (offline after fetch)")
    p.add_argument("action", choices=["fetch", "list", "verify"])
    p.add_argument("names", nargs="*", help="registry names (default: the default model)")
    p.add_argument("--force", action="store_true", help="fetch and verify again even if ready")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_model)

    p = sub.add_parser("index", help="build the vector index")
    p.add_argument("action", choices=["build"])
    p.add_argument("--force", action="store_true", help="rebuild even if the index is current")
    p.add_argument("--no-cache", action="store_true", help="do not reuse cached embeddings")
    add_config_options(p, quiet=True)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer a question (or one per line on stdin)")
    p.add_argument("question", nargs="*")
    p.add_argument("-k", type=int, default=5, help="number of duties to show (default 5)")
    p.add_argument("--list", choices=["basic", "coop", "reclaimed"])
    p.add_argument("--department", help="only duties of this county body (any name: 县水利局, 民政局, police…)")
    p.add_argument("--category", help="only this category (事项类别)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--full", action="store_true", help="show every card in full")
    add_config_options(p)
    p.add_argument("--build", action="store_true", help="build the index first if it is missing or stale")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("departments", help="list the county bodies with their short forms and aliases")
    p.set_defaults(func=cmd_departments)

    p = sub.add_parser("eval", help="evaluate retrieval on a question file")
    from assistant.evaluation.cli import add_arguments as eval_arguments

    eval_arguments(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("calibrate", help="fit the answer-confidence models on the dev questions (data/calibration.json)")
    from assistant.evaluation.calibrate import add_arguments as calibrate_arguments

    calibrate_arguments(p)
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("serve", help="start the web app (Gradio) on 127.0.0.1:7860")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true", help="ask Gradio for a public share link (off by default)")
    add_config_options(p)
    p.add_argument("--auth-file", help="file with `user:password` lines (or set DUTY_ASSISTANT_AUTH=user:password)")
    p.add_argument("--log-questions", help="append questions to this file (off by default)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("doctor", help="check data, departments, model files, index and manifest; say what to do")
    add_config_options(p)
    p.add_argument("--full", action="store_true", help="also re-hash the model weights (slow)")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("bench", help="measure speed and memory; write eval/bench.md")
    from assistant.bench.cli import add_arguments as bench_arguments

    bench_arguments(p)
    p.set_defaults(func=cmd_bench)
    from assistant.review import cli as review_cli

    p = sub.add_parser("state", help="the feedback database: `show` counts, `purge` old questions")
    review_cli.add_state_arguments(p)
    p.set_defaults(func=cmd_state)

    p = sub.add_parser("review", help="the Review desk: list, attach, out-of-scope, lexicon, dismiss, orphans")
    review_cli.add_review_arguments(p)
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("similar", help="similar questions to and from CSV / XLSX: export FILE, import FILE")
    review_cli.add_similar_arguments(p)
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("list", help="next year's list: `list update NEW.txt [--apply]` aligns, reports, swaps in")
    from assistant.data.update import add_arguments as update_arguments

    update_arguments(p)
    p.set_defaults(func=cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except DutyAssistantError as err:  # a user's error: one line saying what to do, no traceback
        print(f"duty-assistant {args.command}: error: {err}", file=sys.stderr)
        return err.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader stopped early (`| head`): not an error of ours; no traceback
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 1
    except Exception:  # anything else is a bug in duty-assistant: show where, and say so
        traceback.print_exc()
        print(f"duty-assistant {args.command}: this is a bug in duty-assistant, not something you did; please "
              "report it with the traceback above", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
