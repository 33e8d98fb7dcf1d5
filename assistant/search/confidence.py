"""How sure the assistant is: features of one retrieval, a calibrated probability, and the answer tier.

Three tiers, one meaning everywhere (API, `ask --json`, CLI, web card, evaluator):

- `answer`: the list answers, and the first duty is the one meant;
- `possibly`: the matter is probably on the list, but which duty is not certain: related duties, "please check";
- `not_in_list`: the list probably does not cover the matter; the nearest duties only for reference.

Two questions are asked of every retrieval, each by a logistic model over the same features (fitted on the
`dev` question sets by `duty-assistant calibrate`, stored in data/calibration.json):

- *is the matter on the list at all?* (`p_scope`), learnt from answerable and out-of-scope questions;
- *given that it is, is the first duty the one meant?* (`p_duty`), learnt from the answerable questions alone:
  the margin to the next duty, whether dense, BM25, lexicon and body cues agree on it, whether its own text
  matched or only one of its similar questions.

The probability that the first duty is right is their product, `p_right = p_scope × p_duty`. Two models
rather than one: the out-of-scope questions and the near misses between two duties look different in the
features, and one linear model over both ranked answers worse (measured on dev, out of fold: at 1 %
confidently wrong, 0.895 of the answerable answered right with one model, 0.927 with the product).

`p_right` ≥ the answer threshold → `answer`; else `p_scope` ≥ the scope threshold → `possibly`; else
`not_in_list`. Logistic regression gives probabilities that can be read as such (the evaluator's reliability
chart checks it); the thresholds are chosen on dev from out-of-fold probabilities (each dev question scored by
models fitted without it), so they hold for questions the models have not seen.

Without a calibration for the loaded model (another model, or no file), the older rule applies: the topic
confidence against `decline_threshold` / `related_threshold` of the retrieval config.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from assistant.errors import DataError

TIERS = ("answer", "possibly", "not_in_list")


@dataclass(frozen=True)
class Features:
    """What one retrieval says about its own first duty. All numbers; flags are 0 or 1."""

    topic: float  # best list text and best similar question, averaged: is the topic on the list at all
    top_dense: float  # the first duty's dense score (its best unit)
    own_text: float  # the first duty's best unit among its own text (title, steps, clauses)
    own_question: float  # the first duty's best similar question (its own text's score where it has none)
    margin: float  # fused score of the first duty minus the second's
    dense_margin: float  # dense score of the first duty minus the best other duty's
    bm25_first: float  # the first duty's BM25 score over the best BM25 score (0 when nothing matched)
    bm25_agrees: float  # BM25's best duty is the first duty
    dense_agrees: float  # the dense signal's best duty is the first duty
    cue: float  # the question used the list's words (lexicon, pinyin) or named a county body
    lexicon_points: float  # an everyday word of the question maps to words of the first duty's own text
    department_points: float  # the question names a county body of the first duty
    unlisted_fact: float  # asks for a fact no list holds (an amount, a phone number, opening hours)
    unlisted_matter: float  # names a matter the list does not hold (a registration, a certificate …)
    long: float  # a long, message-style question
    text_agrees: float  # among the list's own text alone, the first duty matched best
    question_agrees: float  # among the similar questions alone, the first duty's matched best
    close_duties: float  # other duties within 0.03 of the first duty's fused score (ambiguity)
    english: float  # the question is in English
    # share of the question's Chinese content words that neither the list nor its similar questions use (typos
    # and popular names already read as list words not counted): 个人所得税, 商标, 居住证 are words of other offices
    unknown_words: float
    # similarity to the closest question about a matter the list does not hold (data/outside_questions.jsonl;
    # 0 without that file): 离婚去哪办 is close to 婚姻登记 questions there, whatever duty words it shares
    outside: float = 0.0
    # close_duties again for a long message alone, at most MESSAGE_CLOSE_CAP: there, other duties close to the first
    # are mostly its other matters, not rivals for the same one (one weight for both read messages as less sure
    # than they are)
    message_close_duties: float = 0.0
    # asks how much or when (多少, 啥时候, 周几: QuestionCues.asks_fact); apart from unlisted_fact, whose cues are
    # precise, because people also ask when a listed campaign comes round (one feature for both cost 0.02 of right
    # and answered on the earlier dev sets, out of fold)
    fact_question: float = 0.0
    # asks what no list could hold by its kind: a weather forecast, where to buy or repair a thing, an opinion or
    # advice, whether a call or a text is genuine (QuestionCues.asks_other; eleventh and twelfth rounds): 明天下不下雨
    # 要浇地 is close to the irrigation duties in every signal
    other_question: float = 0.0
    # the learnt reading of the same kinds of question (question_kind.py, fitted on the cue banks, not on any
    # question set): p(asks what no list holds), for the phrasings no cue was written for (还能吃低保不); 0 for a
    # long message read whole, like the cues
    kind_unanswerable: float = 0.0

    def vector(self) -> np.ndarray:
        """What the models read: every feature, then the products of INTERACTIONS."""
        values = [getattr(self, f.name) for f in fields(self)]
        return np.array(values + [getattr(self, a) * getattr(self, b) for a, b in INTERACTIONS], dtype=np.float64)

    def to_json(self) -> dict:
        return {k: round(float(v), 4) for k, v in asdict(self).items()}


# pairs of features whose product the models read as well (twelfth round): a linear model adds its evidence up, but
# some evidence counts only together — the margin means more when the dense signal's own best duty is the first,
# and the duty's own wording matching means more when BM25 agrees. Chosen by forward selection among pairs of ten
# features on the dev sets, out of fold (right and answered at 1 % confidently wrong, ten other fold cuts than the
# selection's: 0.917 -> 0.921; all 36 pairs of nine features gave about the same)
INTERACTIONS = (("outside", "dense_agrees"), ("own_text", "bm25_agrees"), ("margin", "dense_agrees"),
                ("bm25_agrees", "dense_agrees"))
FEATURE_NAMES = tuple(f.name for f in fields(Features)) + tuple(f"{a}*{b}" for a, b in INTERACTIONS)
_UNLISTED_FACT = FEATURE_NAMES.index("unlisted_fact")
# the most close duties a long dev message had: the weight learnt for them (positive) must not be extrapolated to a
# text where every duty is equally close (a thousand times "x" was answered as certain without this cap)
MESSAGE_CLOSE_CAP = 2.0


@dataclass(frozen=True)
class LogisticModel:
    """p = σ(w · (x − mean) / scale + b), fitted elsewhere (`calibrate`), applied here with numpy alone."""

    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def probability(self, x: np.ndarray) -> float:
        z = float(np.dot(self.weights, (x - np.asarray(self.mean)) / np.asarray(self.scale)) + self.bias)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True)
class Calibration:
    """The fitted models and thresholds for one embedding model (data/calibration.json)."""

    model: str  # the embedding model the features were measured with
    features: tuple[str, ...]
    duty: LogisticModel  # the first duty is right, given that the matter is on the list
    scope: LogisticModel  # the matter is on the list
    answer_threshold: float  # p_right = p_scope × p_duty at least this: `answer`
    scope_threshold: float  # else p_scope at least this: `possibly`; else `not_in_list`
    fitted_on: dict  # question files and counts, the dev figures at the chosen thresholds

    @classmethod
    def load(cls, path: Path) -> "Calibration | None":
        """The calibration in `path`, or None when there is no file; a damaged file is a DataError."""
        if not path.exists():
            return None
        fix = "run `duty-assistant calibrate` to write it again"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            stale = _stale(data)
            calibration = None if stale else cls(
                model=data["model"], features=tuple(data["features"]),
                duty=LogisticModel(**_model_fields(data["duty"])), scope=LogisticModel(**_model_fields(data["scope"])),
                answer_threshold=float(data["answer_threshold"]), scope_threshold=float(data["scope_threshold"]),
                fitted_on=data.get("fitted_on", {}),
            )
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError, KeyError, TypeError,
                ValueError) as err:
            raise DataError(f"{path} is damaged ({type(err).__name__}: {err}); {fix}") from None
        if stale:
            # stale, not damaged: answer with the plain rule meanwhile, and say so (doctor says it too)
            print(f"duty-assistant: warning: {stale_message(path)}", file=sys.stderr)
            return None
        return calibration

    def to_json(self) -> dict:
        return {
            "_about": "Fitted by `duty-assistant calibrate` on the dev question sets; do not edit by hand. "
                      "See assistant/search/confidence.py.",
            "model": self.model, "features": list(self.features),
            "duty": asdict(self.duty), "scope": asdict(self.scope),
            "answer_threshold": self.answer_threshold, "scope_threshold": self.scope_threshold,
            "fitted_on": self.fitted_on,
        }

    def tier(self, features: Features) -> tuple[str, float, float]:
        """(tier, p_right, p_scope) for one retrieval."""
        p_right, p_scope = probabilities(self.duty, self.scope, features.vector())
        if p_right >= self.answer_threshold:
            return "answer", p_right, p_scope
        return ("possibly" if p_scope >= self.scope_threshold else "not_in_list"), p_right, p_scope


def probabilities(duty: LogisticModel, scope: LogisticModel, x: np.ndarray) -> tuple[float, float]:
    """(p_right, p_scope) for one feature vector: p_right = p_scope × p_duty.

    A question asking for a fact no list holds (`unlisted_fact`: a phone number, opening hours, an amount, a date,
    whether a payment has come) is never answered by a duty, however close the duty: its p_right is 0, so it is never
    `answer` (the duty that handles the topic is still shown, `possibly`, with the sentence that the list holds no
    such fact). Until the twelfth round the models weighed it like any feature, and a very close match could
    outweigh it (a question like 救助的钱批了多久能到账 could be answered as the relief duty); on the dev sets two
    answerable questions carry the cue (新农合现在叫啥 参保信息变更在镇上能办不; 煤改电的补贴啥时候到帐, labelled
    answerable in an early round), both now `possibly`; out of fold, right and answered 0.932 -> 0.934 at 1 %."""
    p_scope = scope.probability(x)
    if x[_UNLISTED_FACT] > 0:
        return 0.0, p_scope
    return p_scope * duty.probability(x), p_scope


def _stale(data: dict) -> bool:
    """Fitted by another version: other features, or one model for p_right (no `duty` model)."""
    return tuple(data.get("features", ())) != FEATURE_NAMES or ("duty" not in data and "right" in data)


def stale_message(path: Path) -> str:
    return (f"{path} was fitted on other features or models than this version computes, so the plain decline rule "
            "is used; run `duty-assistant calibrate` to fit it again")


def check(path: Path) -> str:
    """For `doctor`: what is wrong with the calibration file, or "" when it is current (raises DataError when
    it is damaged)."""
    if not path.exists():
        return f"{path} is missing, so the plain decline rule is used; run `duty-assistant calibrate`"
    data = json.loads(path.read_text(encoding="utf-8"))
    if _stale(data):
        return stale_message(path)
    return ""


def _model_fields(data: dict) -> dict:
    return {"weights": tuple(float(v) for v in data["weights"]), "bias": float(data["bias"]),
            "mean": tuple(float(v) for v in data["mean"]), "scale": tuple(float(v) for v in data["scale"])}


def rule_tier(topic: float, penalty: float, decline_threshold: float, related_threshold: float) -> str:
    """The rule without a calibration: the topic confidence (less the unlisted-fact penalty) against two
    thresholds; a question for a fact no list holds is `not_in_list` unless its match is very strong."""
    if topic - penalty >= decline_threshold:
        return "answer"
    return "possibly" if topic >= related_threshold and not penalty else "not_in_list"
