"""`duty-assistant calibrate`: fit the confidence models on the dev question sets and write data/calibration.json.

Each dev question is retrieved once (with the calibration switched off, so the features do not depend on an
earlier fit); two logistic regressions (scikit-learn) are fitted over the same features:

- scope: the question has a relevant duty at all (every dev question);
- duty: the first duty is relevant, given that the question has one (the answerable dev questions);

and `p_right = p_scope × p_duty` (see search/confidence.py). The questions are retrieved without the cues of
matters no list holds that were written from dev questions (`from_dev` in data/question_cues.json): fitted
with them, the dev questions such a cue catches looked easy, and the thresholds came out too lenient for the
out-of-scope questions no cue was written for.

Thresholds are chosen on out-of-fold probabilities: the dev questions are cut into `FOLDS` folds, and each
question is scored by models fitted on the other folds. Chosen on the fitted models' own questions, the
thresholds were too lenient for new ones (in-sample 0.8 % confidently wrong on dev became 1.5 % out of fold,
and 3.4 % on test). The answer threshold is the lowest p_right at which the share of confidently wrong answers
(out-of-scope answered, or answered with a wrong first duty) stays within `--max-wrong` of all questions; the
scope threshold the highest p_scope at which at most `--max-lost` of the answerable questions below the answer
threshold would be told "not in the list". Each threshold is the median over `REPEATS` different cuts into
folds, so that it does not hang on which questions happened to share a fold. The models written are then fitted
on all dev questions. Test and holdout sets are never read here.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.data.store import write_atomic
from assistant.evaluation.questions import Question, load_questions
from assistant.search import confidence
from assistant.search.confidence import FEATURE_NAMES, Calibration, LogisticModel
from assistant.search.question_kind import QuestionKind, load_banks

FOLDS = 5  # out-of-fold probabilities for choosing the thresholds
REPEATS = 8  # … from this many different cuts into folds, the thresholds their median (one cut's answer threshold
# ranged 0.71–0.84 over eight cuts of the same 907 questions: the choice at 1 % is a few questions either way)
DEV_SETS = ("eval/questions/dev.jsonl", "eval/questions/dev_citizen.jsonl", "eval/questions/messages-dev.jsonl",
            "eval/questions/dev_twins.jsonl", "eval/questions/dev_counter.jsonl", "eval/questions/messages-dev2.jsonl",
            "eval/questions/dev_walkin.jsonl", "eval/questions/dev_citizen3.jsonl",
            "eval/questions/dev_citizen4.jsonl", "eval/questions/messages-dev3.jsonl", "eval/questions/dev_citizen5.jsonl",
            "eval/questions/dev_citizen6.jsonl", "eval/questions/dev_citizen7.jsonl", "eval/questions/dev_citizen8.jsonl",
            "eval/questions/dev_citizen9.jsonl", "eval/questions/dev_citizen10.jsonl",
            "eval/questions/dev_citizen11.jsonl", "eval/questions/dev_citizen12.jsonl",
            "eval/questions/messages-dev4.jsonl", "eval/questions/dev_citizen13.jsonl",
            "eval/questions/dev_citizen14.jsonl", "eval/questions/dev_citizen15.jsonl",
            "eval/questions/dev_citizen16.jsonl", "eval/questions/dev_citizen17.jsonl",
            "eval/questions/dev_citizen18.jsonl", "eval/questions/dev_citizen19.jsonl",
            "eval/questions/messages-dev5.jsonl", "eval/questions/dev_citizen20.jsonl",
            "eval/questions/dev_citizen21.jsonl", "eval/questions/dev_citizen22.jsonl",
            "eval/questions/dev_citizen23.jsonl", "eval/questions/dev_citizen24.jsonl",
            "eval/questions/dev_citizen25.jsonl", "eval/questions/dev_citizen26.jsonl",
            "eval/questions/dev_citizen27.jsonl", "eval/questions/dev_citizen28.jsonl")
# the route's dev questions: the first set (written before the route was built) and, since the seventeenth round, a
# harder one (situations near a neighbouring duty, amounts and dates asked in Uyghur and Kazakh)
ROUTE_DEV_SETS = ("eval/questions/minority-dev.jsonl", "eval/questions/minority-dev2.jsonl")
# Each dev question is scored without the similar questions that are near-copies of it (dense score at least
# this): many similar questions were written beside the older dev sets, and 21 % of dev.jsonl's right answers
# matched one at ≥ 0.9 (9 % at ≥ 0.95), against 1 % (and none) of the sixteenth round's fresh block. Fitted on such
# matches, the models leant on a sign fresh questions seldom show. Measured leaving one dev block out at a time
# (13 blocks, 2,834 questions, models and thresholds from the other blocks, questions scored as served): right and
# answered 0.936 -> 0.941 at confidently wrong 0.0095 -> 0.0092 (0.85: 0.938; 0.95: 0.939)
UNSEEN_ABOVE = 0.9
# Fewer answerable dev questions with a wrong first duty than this, and the duty model cannot learn what a wrong one
# looks like: the route's 93 dev questions came to hold one (sixteenth round), its refit read every first duty as
# right, and minority-test's confidently wrong rose 0.000 -> 0.032. `calibrate` then refuses to write.
MIN_WRONG_FIRST = 2
# The share of dev questions that may be answered with certainty and wrongly, out of fold … 0.01 from the fourth round
# to the sixteenth; 0.012 since the seventeenth, chosen by leaving one dev block out at a time (15 blocks, each scored
# by models and a threshold fitted on the others, as a fresh block is): between the answer thresholds these two give
# (0.80 and 0.74) fresh blocks gained right answers and hardly any wrong ones — confidently wrong 0.0099 -> 0.0103 on
# average, no block's higher but one (0.006 -> 0.013), right and answered 0.914 -> 0.931 — while 0.013 began to add
# wrong ones (0.0114, a second block above 0.02)
MAX_WRONG = 0.012
ROUTE_MAX_WRONG = 0.02  # … and for the route: its dev set has 93 questions, where 1 % is less than one question, so
# no threshold but the very top qualifies (right and answered 0.05 out of fold at 0.01 against 0.66 at 0.02: this
# was the "refit anomaly" of sessions 6–7, whose route calibration had been fitted at 0.02)


@dataclass
class Sample:
    question: Question
    x: np.ndarray
    right: bool  # the first duty is relevant
    scope: bool  # answerable


def collect(assistant, questions: list[Question], progress: bool = True) -> list[Sample]:
    """Retrieve each question once with the calibration off; its features and whether the first duty is right."""
    from assistant.errors import QuestionError

    plain = assistant.with_config(calibrated=False, unseen_above=UNSEEN_ABOVE)
    inner = _unwrapped(plain)
    inner.retriever = inner.retriever.with_cues(inner.retriever.cues.for_calibration())
    samples = []
    iterator = questions
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(questions, desc="calibrate", unit="q", file=sys.stderr)
    for q in iterator:
        try:
            result = plain.search(q.question)
        except QuestionError:
            continue
        if result.features is None or result.signals.get("body_part"):
            # a question about a body's part as a whole is answered by rule (Retriever._body_part), not by the models
            continue
        first = result.hits[0].duty.id if result.hits else None
        samples.append(Sample(q, result.features.vector(), bool(first and first in q.relevant), q.answerable))
    return samples


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> LogisticModel:
    """A standardised logistic regression (scikit-learn, L2, lbfgs).

    With one outcome only (the route's 93 dev questions hold a single wrong first duty, so some folds have none)
    there is nothing to regress on: the model is the outcome's share with a half count added to each side,
    whatever the features (all weights zero)."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    if len(np.unique(y)) < 2:
        share = (float(np.sum(y)) + 0.5) / (len(y) + 1.0)
        return LogisticModel(tuple(0.0 for _ in mean), float(np.log(share / (1.0 - share))),
                             tuple(float(m) for m in mean), tuple(float(s) for s in scale))
    model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, y.astype(int))
    return LogisticModel(tuple(float(w) for w in model.coef_[0]), float(model.intercept_[0]),
                         tuple(float(m) for m in mean), tuple(float(s) for s in scale))


def choose_answer_threshold(p_right: np.ndarray, right: np.ndarray, max_wrong: float) -> float:
    """The lowest threshold whose confidently-wrong share (answered and not right, over all) is ≤ max_wrong."""
    best = 1.0
    for threshold in sorted(set(np.round(p_right, 4)) | {1.0}, reverse=True):
        answered = p_right >= threshold
        if np.sum(answered & ~right) / len(right) <= max_wrong:
            best = float(threshold)
        else:
            break
    return best


def choose_scope_threshold(p_scope: np.ndarray, scope: np.ndarray, unanswered: np.ndarray, max_lost: float) -> float:
    """The highest threshold that tells at most `max_lost` of the answerable questions "not in the list"."""
    answerable = max(1, int(scope.sum()))
    for threshold in sorted(set(np.round(p_scope, 4)) | {0.0}, reverse=True):
        lost = np.sum(unanswered & scope & (p_scope < threshold)) / answerable
        if lost <= max_lost:
            return float(threshold)
    return 0.0


def fit_models(x: np.ndarray, right: np.ndarray, scope: np.ndarray) -> tuple[LogisticModel, LogisticModel]:
    """(duty model, scope model): the duty model on the answerable questions only."""
    return fit_logistic(x[scope], right[scope]), fit_logistic(x, scope)


def probabilities(duty: LogisticModel, scope: LogisticModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p_right, p_scope) for each row of x, by the rule the assistant answers with."""
    pairs = np.array([confidence.probabilities(duty, scope, v) for v in x]).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def out_of_fold(x: np.ndarray, right: np.ndarray, scope: np.ndarray, folds: int = FOLDS,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(p_right, p_scope) of each question from models fitted without its fold. Folds are stratified by
    outcome (right / answerable but wrong / out of scope), so each fold holds some of the rare kinds."""
    rng = np.random.default_rng(seed)
    kind = np.where(~scope, 2, np.where(right, 0, 1))
    fold = np.zeros(len(kind), dtype=int)
    for k in range(3):
        rows = rng.permutation(np.nonzero(kind == k)[0])
        fold[rows] = np.arange(len(rows)) % folds
    return _held_out(x, right, scope, fold)


def leave_one_file_out(x: np.ndarray, right: np.ndarray, scope: np.ndarray,
                       files: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p_right, p_scope) of each question from models fitted without its whole question file: each dev block scored
    as a fresh block would be (its writer's phrasing unseen), which random folds cannot show."""
    return _held_out(x, right, scope, files)


def _held_out(x: np.ndarray, right: np.ndarray, scope: np.ndarray,
              groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(p_right, p_scope) of each question from models fitted on the questions of the other groups."""
    p_right, p_scope = np.zeros(len(right)), np.zeros(len(right))
    for group in dict.fromkeys(groups.tolist()):
        held = groups == group
        duty_model, scope_model = fit_models(x[~held], right[~held], scope[~held])
        p_right[held], p_scope[held] = probabilities(duty_model, scope_model, x[held])
    return p_right, p_scope


def by_file(p_right: np.ndarray, p_scope: np.ndarray, right: np.ndarray, scope: np.ndarray, files: np.ndarray,
            answer_threshold: float, scope_threshold: float) -> dict:
    """The trust figures of each question file at these thresholds."""
    report = {}
    for name in dict.fromkeys(files.tolist()):
        held = files == name
        report[name] = {"n": int(held.sum()), **figures(p_right[held], p_scope[held], right[held], scope[held],
                                                         answer_threshold, scope_threshold)}
    return report


def figures(p_right: np.ndarray, p_scope: np.ndarray, right: np.ndarray, scope: np.ndarray,
            answer_threshold: float, scope_threshold: float) -> dict:
    """The trust figures of these probabilities at these thresholds."""
    answered = p_right >= answer_threshold
    possibly = ~answered & (p_scope >= scope_threshold)
    return {
        "confidently_wrong": round(float(np.mean(answered & ~right)), 4),
        "right_and_answered": round(float(np.sum(answered & right) / max(1, scope.sum())), 4),
        "out_of_scope_not_answered": round(float(np.mean(~answered[~scope])) if (~scope).any() else 1.0, 4),
        "answerable_not_in_list": round(float(np.sum(scope & ~answered & ~possibly) / max(1, scope.sum())), 4),
    }


def calibrate(assistant, paths: list[Path], max_wrong: float = MAX_WRONG, max_lost: float = 0.02,
              progress: bool = True) -> Calibration:
    known = {d.id for d in assistant.data.duties}
    settings = getattr(_unwrapped(assistant), "settings", None)
    root = settings.root if settings is not None else None
    per_file = {_shown(path, root): load_questions(path, known) for path in paths}
    questions = [q for qs in per_file.values() for q in qs]
    samples = collect(assistant, questions, progress)
    file_of = {id(q): name for name, qs in per_file.items() for q in qs}
    files = np.array([file_of.get(id(s.question), "") for s in samples])
    x = np.stack([s.x for s in samples])
    right = np.array([s.right for s in samples])
    scope = np.array([s.scope for s in samples])
    wrong = int(np.sum(scope & ~right))
    if wrong < MIN_WRONG_FIRST:
        from assistant.errors import DataError

        raise DataError(f"the dev questions hold {wrong} answerable question(s) whose first duty is wrong; the duty "
                        f"model needs at least {MIN_WRONG_FIRST} to learn which first duties are wrong, so nothing "
                        f"was written. Add dev questions (harder ones), or keep the calibration you have.")
    held = [out_of_fold(x, right, scope, seed=seed) for seed in range(REPEATS)]
    answer_threshold = float(np.median([choose_answer_threshold(p, right, max_wrong) for p, _ in held]))
    scope_threshold = float(np.median([choose_scope_threshold(q, scope, p < answer_threshold, max_lost)
                                       for p, q in held]))
    per_cut = [figures(p, q, right, scope, answer_threshold, scope_threshold) for p, q in held]
    held_figures = {name: round(float(np.mean([f[name] for f in per_cut])), 4) for name in per_cut[0]}
    fresh_right, fresh_scope = leave_one_file_out(x, right, scope, files)
    fresh = by_file(fresh_right, fresh_scope, right, scope, files, answer_threshold, scope_threshold)
    duty_model, scope_model = fit_models(x, right, scope)
    p_right, p_scope = probabilities(duty_model, scope_model, x)
    fitted_on = {
        "questions": {name: len(qs) for name, qs in per_file.items()},
        "count": len(samples), "answerable": int(scope.sum()), "right_at_rank_1": int(right.sum()),
        "max_wrong": max_wrong, "max_lost": max_lost, "folds": FOLDS, "repeats": REPEATS,
        "unseen_above": UNSEEN_ABOVE,
        "dev_out_of_fold": held_figures,
        # each question file scored by models fitted without it, at the chosen thresholds: how a fresh block fares
        "dev_leave_one_file_out": fresh,
        "dev": figures(p_right, p_scope, right, scope, answer_threshold, scope_threshold),
    }
    return Calibration(assistant.model_id, FEATURE_NAMES, duty_model, scope_model, round(answer_threshold, 4),
                       round(scope_threshold, 4), fitted_on)


def _unwrapped(assistant):
    """The Assistant itself: the route (calibrate --route) wraps one."""
    return getattr(assistant, "assistant", assistant)


def _shown(path: Path, root: Path | None) -> str:
    """A question file's path as recorded in the calibration: relative to the project when inside it (the file is
    committed, and a clone lives elsewhere)."""
    try:
        return str(path.resolve().relative_to(root.resolve())) if root else str(path)
    except ValueError:
        return str(path)


def add_arguments(p) -> None:
    p.add_argument("questions", nargs="*", help=f"dev question files (default: {' '.join(DEV_SETS)})")
    p.add_argument("--out", help="where to write (default: data/calibration.json)")
    p.add_argument("--route", action="store_true",
                   help=f"fit the route's models instead (Uyghur and Kazakh questions, assistant/search/route.py): "
                        f"default questions {' '.join(ROUTE_DEV_SETS)}, written to data/calibration-<route model>.json")
    p.add_argument("--max-wrong", type=float, default=None,
                   help=f"largest share of confidently wrong answers on dev (default {MAX_WRONG}; with --route "
                        f"{ROUTE_MAX_WRONG}: its 93 dev questions allow no wrong answer at all at 1 %%)")
    p.add_argument("--max-lost", type=float, default=0.02,
                   help="largest share of answerable dev questions told 'not in the list' (default 0.02)")
    from assistant.options import add_config_options

    add_config_options(p, quiet=True)


def main(args) -> int:
    from assistant.api import Assistant
    from assistant.options import config_from

    assistant = Assistant.open(config=config_from(args), build=True, progress=not args.quiet)
    target, out = assistant, assistant.settings.calibration
    paths = [Path(p) for p in args.questions] or [assistant.settings.root / p for p in DEV_SETS]
    if args.route:  # the route quacks like an assistant here: it skips questions in languages it does not answer
        if assistant.route is None:
            from assistant.errors import SettingsError

            raise SettingsError("there is no route to calibrate: set DUTY_ASSISTANT_ROUTE_MODEL (default e5-small) "
                                "and run `duty-assistant model fetch e5-small`")
        target, out = assistant.route, assistant.settings.calibration_for(assistant.route.model_id)
        paths = [Path(p) for p in args.questions] or [assistant.settings.root / p for p in ROUTE_DEV_SETS]
    elif not args.questions and assistant.settings.out_of_scope.exists():  # recorded at the Review desk
        paths.append(assistant.settings.out_of_scope)
    max_wrong = args.max_wrong if args.max_wrong is not None else (ROUTE_MAX_WRONG if args.route else MAX_WRONG)
    out = Path(args.out) if args.out else out
    if not args.route:
        # the learnt reading of a question's kind, from the cue banks (no question set): fitted first, since the
        # confidence models read it as a feature; the route reads the one the default model's calibrate wrote
        kind = QuestionKind.fit(load_banks(assistant.settings.eval / "cues"))
        assistant.data.question_kind = assistant.retriever.question_kind = kind
        kind_out = out.with_name(out.stem + "-question_kind.json") if args.out else assistant.settings.question_kind
        write_atomic(kind_out, json.dumps(kind.to_json(), ensure_ascii=False) + "\n")
        print(f"wrote {kind_out}: the question-kind model, fitted on {kind.fitted_on['questions']} bank questions "
              f"({kind.fitted_on['unanswerable']} of kinds no list answers, {kind.fitted_on['controls']} controls)")
    calibration = calibrate(target, paths, max_wrong, args.max_lost, progress=not args.quiet)
    write_atomic(out, json.dumps(calibration.to_json(), ensure_ascii=False, indent=1) + "\n")
    dev = calibration.fitted_on["dev_out_of_fold"]
    print(f"wrote {out}: {calibration.fitted_on['count']} dev questions; answer threshold "
          f"{calibration.answer_threshold}, scope threshold {calibration.scope_threshold}; on dev, out of fold: "
          f"confidently wrong {dev['confidently_wrong']}, right and answered {dev['right_and_answered']}, out of "
          f"scope not answered {dev['out_of_scope_not_answered']}")
    print(fresh_summary(calibration.fitted_on.get("dev_leave_one_file_out", {})))
    return 0


def fresh_summary(fresh: dict) -> str:
    """One line on the dev question files each scored by models fitted without it."""
    if not fresh:
        return "no file was scored leaving it out"
    wrong = [f["confidently_wrong"] for f in fresh.values()]
    right = [f["right_and_answered"] for f in fresh.values()]
    worst = max(fresh, key=lambda name: fresh[name]["confidently_wrong"])
    return (f"each dev file scored by models fitted without it ({len(fresh)} files): confidently wrong mean "
            f"{np.mean(wrong):.4f}, most {fresh[worst]['confidently_wrong']} ({worst}); right and answered mean "
            f"{np.mean(right):.4f}, least {min(right)}")
