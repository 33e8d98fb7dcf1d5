"""A learnt reading of a question's kind: does it ask what no duty list holds (an amount, a date, whether a payment
came, whether one qualifies, an opinion, advice, a rumour, what a word means), whatever its topic?

The hand-written cues (data/question_cues.json) catch the phrasings someone wrote down; people find others
(还能吃低保不, 是不是不给了). This model reads the same kinds from character n-grams, learnt from the banks of
phrasings the cues were written from (eval/cues/bank-{a,b,d,f,h,i,k,m}.jsonl: questions about listed topics that only
their kind makes unanswerable, and controls about the same topics that a duty answers; bank-k: matters of other
offices and everyday matters of nobody, and look-alike controls; bank-m: advice on what to do oneself). The banks
kept as checks (c, e, g, j, n) and every question set are left out of its training, so the dev sets can weigh it as
one more feature of the confidence (`kind_unanswerable`, confidence.py) without having taught it.

Characters are hashed (scikit-learn's HashingVectorizer: no vocabulary to store), and the fitted weights are kept
in data/question_kind.json, written by `duty-assistant calibrate`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.data.store import read_jsonl
from assistant.errors import DataError

# the banks it learns from; c (matters of other offices), e, g, j and n are kept as checks. k (matters of other offices
# and everyday matters, twenty-fourth round) widened it to what dev's out-of-scope questions hold beyond the fact
# kinds: AUC on the unread bank c 0.779 -> 0.838, on the dev questions (never trained on) 0.811 -> 0.847
# m (advice on what to do oneself: a doctor's, a vet's, an agronomist's or a handyman's, twenty-seventh round) joined:
# AUC on the unread bank n (the same kinds) 0.976 -> 0.989, on bank c 0.838 -> 0.843, on the dev questions 0.858 -> 0.858
TRAINING_BANKS = ("a", "b", "d", "f", "h", "i", "k", "m")
N_FEATURES = 2 ** 14
NGRAMS = (1, 3)
# a text whose hashed n-grams are recorded with the weights: another hashing (a scikit-learn that hashes otherwise)
# would silently read other weights, so a file whose probe differs is refused
PROBE = "低保去哪申请 who handles it"


def _probe_columns() -> list[int]:
    return sorted(int(i) for i in _vectorizer().transform([PROBE]).indices)


@lru_cache(maxsize=1)
def _vectorizer():
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char_wb", ngram_range=NGRAMS, n_features=N_FEATURES, alternate_sign=False,
                             norm="l2", lowercase=True)


@dataclass(frozen=True)
class QuestionKind:
    """p(the question asks what no list holds) = σ(w · hashed character n-grams + b)."""

    weights: np.ndarray
    bias: float
    fitted_on: dict

    def probability(self, text: str) -> float:
        row = _vectorizer().transform([text])
        z = float(row.dot(self.weights)[0]) + self.bias
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    @classmethod
    def fit(cls, banks: dict[str, list[dict]], c: float = 4.0) -> "QuestionKind":
        """Fit on bank questions (each a dict with `question` and `kind`; kind `control` = a duty answers it)."""
        from sklearn.linear_model import LogisticRegression

        rows = [q for name in sorted(banks) for q in banks[name]]
        labels = np.array([q["kind"] != "control" for q in rows], dtype=int)
        if len(set(labels)) < 2:
            raise DataError("the question-kind model needs bank questions of both kinds (controls and the others); "
                            "check eval/cues/bank-*.jsonl")
        x = _vectorizer().transform([q["question"] for q in rows])
        model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(x, labels)
        fitted_on = {"banks": {name: len(banks[name]) for name in sorted(banks)}, "questions": len(rows),
                     "unanswerable": int(labels.sum()), "controls": int(len(labels) - labels.sum()), "C": c,
                     "n_features": N_FEATURES, "ngrams": list(NGRAMS), "probe_columns": _probe_columns()}
        return cls(model.coef_[0].astype(np.float64), float(model.intercept_[0]), fitted_on)

    def to_json(self) -> dict:
        nonzero = np.flatnonzero(self.weights)
        return {
            "_about": "Fitted by `duty-assistant calibrate` on the cue banks named in fitted_on; do not edit by hand. "
                      "See assistant/search/question_kind.py.",
            "fitted_on": self.fitted_on, "bias": round(self.bias, 6),
            "weights": {str(int(i)): round(float(self.weights[i]), 5) for i in nonzero},
        }

    @classmethod
    def load(cls, path: Path) -> "QuestionKind | None":
        """The model in `path`, or None when there is no file; a damaged file is a DataError."""
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            fitted = data["fitted_on"]
            if (fitted.get("n_features") != N_FEATURES or fitted.get("ngrams") != list(NGRAMS)
                    or fitted.get("probe_columns") != _probe_columns()):
                raise ValueError("fitted with other hashing than this version uses")
            weights = np.zeros(N_FEATURES, dtype=np.float64)
            for index, weight in data["weights"].items():
                weights[int(index)] = float(weight)
            return cls(weights, float(data["bias"]), fitted)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError, KeyError, TypeError, IndexError,
                ValueError) as err:
            raise DataError(f"{path} is damaged ({type(err).__name__}: {err}); run `duty-assistant calibrate` to "
                            "write it again") from None


def load_banks(folder: Path, names=TRAINING_BANKS) -> dict[str, list[dict]]:
    """The training banks' questions (eval/cues/bank-<name>.jsonl); a missing or damaged bank is a DataError."""
    fix = "restore eval/cues/ from git"
    banks = {}
    for name in names:
        path = folder / f"bank-{name}.jsonl"
        if not path.exists():
            raise DataError(f"{path} is missing: the question-kind model learns from it; {fix}")
        banks[name] = read_jsonl(path, "a bank of phrasings", fix)
    return banks
