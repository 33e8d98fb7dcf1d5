"""`duty-assistant review …`, `duty-assistant state …` and `duty-assistant similar …`: the Review desk, the
feedback database and the similar-question spreadsheets from the command line (thin over assistant.review,
assistant.state and assistant.data.similar_io)."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path


def _by(args) -> str:
    return getattr(args, "by", None) or getpass.getuser()


# -- state ----------------------------------------------------------------------------------------------------


def add_state_arguments(p) -> None:
    p.add_argument("action", choices=["purge", "show"])
    p.add_argument("--older-than", type=float, help="purge: days (default: DUTY_ASSISTANT_RETENTION_DAYS)")
    p.add_argument("--all", action="store_true", help="purge: every kept question")


def state_main(args) -> int:
    from assistant.settings import current
    from assistant.state.store import FeedbackStore

    settings = current()
    if not settings.feedback_db.exists():
        print(f"no feedback database at {settings.feedback_db} (nothing kept yet; DUTY_ASSISTANT_KEEP={settings.keep})")
        return 0
    store = FeedbackStore(settings.feedback_db)
    if args.action == "show":
        print(f"{settings.feedback_db}: {store.count()} kept questions (keep={settings.keep}, retention "
              f"{settings.retention_days or 'forever'} days)")
        for mark in ("right", "wrong", "not_in_list"):
            print(f"  marked {mark}: {store.count('mark = ?', (mark,))}")
        print(f"  open for review: {store.count('status = ?', ('open',))}")
        return 0
    days = args.older_than if args.older_than is not None else settings.retention_days
    if not args.all and not days:
        print("retention is 0 (keep forever); give --older-than DAYS or --all", file=sys.stderr)
        return 2
    removed = store.purge(days, everything=args.all)
    print(f"deleted {removed} kept question(s){'' if args.all else f' older than {days:g} days'}")
    return 0


# -- review ---------------------------------------------------------------------------------------------------


def add_review_arguments(p) -> None:
    from assistant.options import add_config_options

    p.add_argument("action", choices=["list", "attach", "out-of-scope", "lexicon", "dismiss", "orphans"])
    p.add_argument("items", nargs="*", type=int, help="review item numbers (from `review list`), or orphan lines")
    p.add_argument("--duty", help="attach: the duty (id like coop-19, or key)")
    p.add_argument("--text", help="attach / out-of-scope: the question as it should be kept (default: as asked)")
    p.add_argument("--everyday", help="lexicon: the everyday word")
    p.add_argument("--official", help="lexicon: the list's word(s), a|b")
    p.add_argument("--source", default="", help="lexicon: where the pair comes from")
    p.add_argument("--reason", default="", help="dismiss: why")
    p.add_argument("--drop", action="store_true", help="orphans: drop the given lines instead of attaching them")
    p.add_argument("--by", help="who makes the change (default: your login name)")
    p.add_argument("--yes", action="store_true", help="apply even when the dev check shows broken questions")
    p.add_argument("--json", action="store_true", help="list: machine-readable")
    add_config_options(p)


def review_main(args) -> int:
    from assistant.errors import ReviewError

    if args.action == "list":
        return _review_list(args)
    desk = _desk(args)
    if args.action == "dismiss":
        n = desk.dismiss(args.items, _by(args), args.reason)
        print(f"dismissed {n} item(s)")
        return 0
    if args.action == "attach":
        if not args.duty:
            raise ReviewError("attach needs --duty (an id like coop-19)")
        change = desk.attach(args.items, args.duty, args.text)
    elif args.action == "out-of-scope":
        change = desk.out_of_scope(args.items, args.text)
    elif args.action == "lexicon":
        change = desk.lexicon(args.everyday or "", args.official or "", args.source, args.items, _by(args))
    else:  # orphans
        if args.drop:
            change = desk.drop_orphans(args.items)
        else:
            if not args.duty:
                raise ReviewError("orphans needs --duty (or --drop)")
            change = desk.attach_orphans(args.items, args.duty)
    impact = desk.check(change)
    print(impact.summary())
    for row in impact.broken[:20]:
        print(f"  broken {row['id']}: {row['question']} — expected {', '.join(row['expected']) or 'not in list'}, "
              f"was {row['before']} ({row['before_tier']}), now {row['after']} ({row['after_tier']})")
    if impact.needs_confirmation and not args.yes:
        print("not applied: this change breaks dev questions; run again with --yes to apply it anyway", file=sys.stderr)
        return 1
    result = desk.apply(change, _by(args), impact=impact, confirmed=args.yes)
    print(f"applied: {result['audit']['what']} ({result['total_s']:.2f} s; index updated)")
    return 0


def _desk(args):
    from assistant.api import Assistant
    from assistant.options import config_from
    from assistant.review.desk import ReviewDesk

    return ReviewDesk(Assistant.open(config=config_from(args), build=True))


def _review_list(args) -> int:
    """The queue without loading the model: the database and the duties file are enough."""
    from types import SimpleNamespace

    from assistant.data.store import load_duties
    from assistant.review.changes import read_orphans
    from assistant.review.desk import ReviewDesk
    from assistant.settings import current
    from assistant.state.store import FeedbackStore

    settings = current()
    duties = load_duties(settings.duties)
    fake = SimpleNamespace(settings=settings, data=SimpleNamespace(duties=duties))
    desk = ReviewDesk.__new__(ReviewDesk)
    desk.assistant, desk.settings = fake, settings
    desk.store = FeedbackStore(settings.feedback_db)
    groups = desk.queue()
    orphans = read_orphans(settings)
    if args.json:
        print(json.dumps({"groups": [{"key": g.key, "id": g.duty_id, "title": g.title, "count": g.count,
                                      "items": g.items} for g in groups], "orphans": orphans},
                         ensure_ascii=False, default=str))
        return 0
    if not groups:
        print("nothing to review")
    for g in groups:
        print(f"{g.duty_id or '(no duty near)'} {g.title[:40]} — {g.count}")
        for row in g.items:
            mark = f", marked {row['mark']}" if row["mark"] else ""
            right = f" → {row['right_id']}" if row.get("right_id") else ""
            print(f"  #{row['id']} [{row['tier']}{mark}{right}] {row['question']}")
    if orphans:
        print(f"\norphaned similar questions (their duty left the list): {len(orphans)}")
        for o in orphans:
            print(f"  line {o['_line']}: {o['question']} (was {o.get('old_id')} {o.get('old_title', '')[:30]}; "
                  f"nearest now {o.get('suggested_id') or '-'})")
    return 0


# -- similar export | import ----------------------------------------------------------------------------------


def add_similar_arguments(p) -> None:
    p.add_argument("action", choices=["export", "import"])
    p.add_argument("file", help="a .csv or .xlsx file")
    p.add_argument("--duty", help="export: only this duty (id or key)")
    p.add_argument("--add", action="store_true", help="import: only add rows (default: the file becomes the set)")
    p.add_argument("--dry-run", action="store_true", help="import: check and say what would change; write nothing")
    p.add_argument("--by", help="who makes the change (default: your login name)")


def similar_main(args) -> int:
    from assistant.data import similar_io
    from assistant.data.store import load_duties, read_similar_rows
    from assistant.settings import current

    settings = current()
    duties = load_duties(settings.duties)
    rows = read_similar_rows(settings.similar_questions)
    path = Path(args.file)
    if args.action == "export":
        out = similar_io.export_rows(duties, rows)
        if args.duty:
            out = [r for r in out if args.duty in (r["id"], r["key"])]
        similar_io.write_table(path, out)
        print(f"wrote {path}: {len(out)} similar questions of {len({r['key'] for r in out})} duties")
        return 0
    plan = similar_io.plan_import(path, duties, rows, add_only=args.add)
    print(plan.summary())
    for duty_id, question in plan.added[:10]:
        print(f"  + {duty_id}: {question}")
    for duty_id, question in plan.removed[:10]:
        print(f"  - {duty_id}: {question}")
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    similar_io.import_data(settings, plan, _by(args))
    print(f"wrote {settings.similar_questions}; a running server takes it up within a second; otherwise run "
          "`duty-assistant index build` (only the new questions are encoded)")
    return 0
