"""Retrieval configuration: every strategy and weight in one place, chosen once, overridable from a JSON file.

The shipped values were chosen on the `dev` question split (see eval/report.md, "Ablation").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from assistant.errors import SettingsError


@dataclass(frozen=True)
class RetrievalConfig:
    model: str | None = None  # registry name or folder; None: $DUTY_ASSISTANT_MODEL or the default
    dim: int | None = None  # Matryoshka truncation of the embeddings; None keeps the model's dimension
    backend: str = "auto"  # auto (ONNX Runtime when installed, else torch) | onnx | torch: same index vectors
    quantize_queries: bool = True  # ONNX: questions encoded with 8-bit weights (the index stays float32)
    index_type: str = "auto"  # flat (exact) | hnsw (approximate) | auto: flat below 10,000 units, hnsw above (bench.md)
    hnsw_ef_construction: int = 80  # HNSW only: build-time candidate list
    hnsw_ef_search: int = 128  # HNSW only: search-time candidate list
    approximate_depth: int = 512  # HNSW only: units fetched per question (an exact index scores every unit)
    k: int = 5  # duties returned for a question unless the caller asks for another number
    max_chars: int = 1000  # longer questions are cut (and the answer says so)
    question_units: bool = True  # index the similar questions (相似问) as units
    # … except those of these sources (data/similar_questions.jsonl `source`); the Uyghur/Kazakh route leaves out
    # the clerks' relayed questions (route.ROUTE_SETTINGS)
    question_sources_skipped: tuple[str, ...] = ()
    lexicon: bool = True  # expand everyday words to the list's words
    pinyin: bool = True  # map typos / homophones to the list's words by pinyin
    dense_expansion: bool = False  # embed the question with its expansions appended
    dense_weight: float = 1.0  # 0: no embedding model at all (BM25 alone, for comparison)
    bm25_weight: float = 0.1  # weight of the max-normalised BM25 score
    department_boost: float = 0.25  # added to duties of a body the question names
    # BM25 and typo matching cut with jieba's dictionary plus the lexicon's words (segment.lexicon_cutter); the
    # Uyghur/Kazakh route keeps jieba's own (route.ROUTE_SETTINGS)
    lexicon_cut: bool = True
    town_or_body: bool = True  # … but not to a body's own duties when the question asks between the town and it
    department_topic: bool = True  # … and to duties whose own text uses the words that named it (工会, 消防)
    list_intent_boost: float = 0.1  # added to duties of the list a question asks about (收回 → reclaimed)
    # a Chinese everyday term read only across another term's word is not read (修路灯: 路灯, not 修路)
    whole_words: bool = True
    lexicon_rewrite: bool = True  # also embed the question with its everyday terms replaced by the list's words
    # (新农合 → 基本医疗保险); each duty keeps the better of the two scores
    unknown_words: bool = True  # confidence feature: share of the question's words neither the list nor its
    # similar questions use (off for the Uyghur/Kazakh route: its questions are not Chinese, and its calibration,
    # fitted before the feature, carries it with weight 0)
    outside_questions: bool = True  # confidence feature: similarity to the closest question about a matter the
    # list does not hold (data/outside_questions.jsonl, encoded into the index)
    outside_hint_min: float = 0.85  # a question "not in the list" this close to one of them is told where such
    # matters usually go (the office written beside it: general knowledge, marked as not from the list)
    typo_rewrite: bool = True  # … and with the typos pinyin matching found corrected (宅鸡地 → 宅基地)
    typo_across_cuts: float = 6.0  # a typo jieba cut across (打疫|描找) is read as the list's word (疫苗) only when the
    # corrected text reads this much better (log-likelihood of jieba's best cut); 0: only chunks on jieba's cuts
    rewrite_below: float = 0.75  # … only when the question's best duty scores below this (on the dev sets every
    # outcome the rewrite changed had a best duty under 0.73; above, it costs an encoding and changes nothing)
    # … but always when pinyin matching corrected a typo: the model cannot read 低宝 as 低保, and a question that
    # matches another duty well by its other words (单亲妈妈 → the women's federation, 0.85) never got the reading
    typo_rewrite_any: bool = True
    typo_rare_nouns: int = 5  # a noun of jieba's dictionary this rare (frequency at most this) is no word pinyin
    # matching must leave alone: the dictionary was counted from texts with their misspellings (秸杆 5, 燥音 3, 防讯 3
    # beside 秸秆 131, 噪音 221, 防汛 232), so such a noun that sounds like a list word is read as it; verbs and other
    # words are left alone (打到, 往上, 指到 are words of their own); 0: every dictionary word is left alone
    lexicon_boost: float = 0.0  # added to duties whose text uses the list's words an everyday word maps to
    sentence_weight: float = 0.0  # long messages: weight of the best single sentence's score (0: off)
    long_chars: int = 40  # a question this long (characters) is also scored sentence by sentence
    sentence_slots: int = 0  # long messages: places in the first five for other sentences' best duties (0: off;
    # 1 adds ~1 point of capped recall@5 on messages but ~4x their latency: eval/report.md)
    sentence_pick_min: float = 0.5  # a sentence's best duty must score at least this to get such a place
    relay: bool = True  # the frame of a relayed question (群众来问：, data/question_cues.json `relay`) is taken off
    body_part: bool = True  # a question about a county body's part as a whole is answered with that body's duties
    matters: bool = True  # a long message is split into the matters it raises, each routed like a question
    matter_background: float = 0.5  # a sentence whose best duty scores below this is background, not a matter
    matter_overlap: int = 1  # a sentence continues a matter when its best duty is among the matter's best this many
    # a part of a message shorter than this is no matter of its own (镇上能不能帮个忙?, 麻烦问一下。): it joins the part
    # closest to it (eighteenth round, dev messages: split as labelled 92 -> 98 of 156 messages, matter recall@3
    # and capped recall@5 unchanged; 16 and 20 split more right still but lost right answers)
    matter_min_chars: int = 12
    matter_k: int = 3  # duties shown per matter
    # a message's own first duty is shown as certain only when it is also the first duty of one of its matters: where
    # it is none of theirs, the message's mean vector fell between its matters (eleventh round: on messages-dev4
    # confidently wrong 0.075 -> 0.025, right and answered 0.925 -> 0.900; dev / dev2 / dev3 r&a 0.944 -> 0.917,
    # 0.975 unchanged, 0.975 -> 0.950)
    message_lead_in_matters: bool = True
    # read questions no list could answer by their kind (a forecast, where to buy, an opinion or advice, whether a
    # call or a text is genuine: asks_other) — the
    # `other_question` feature and the answer's sentence; off: the feature is 0 as for any other question
    other_questions: bool = True
    question_kind: bool = True  # read the learnt kind of question (data/question_kind.json) as a confidence feature
    matter_cues: bool = True  # a matter is read for facts and matters no list holds (多少钱, 结婚证), however long
    # … and so is a long question that raises one matter (a single long sentence, or background and one request)
    long_question_cues: bool = True
    # a part of a message the list does not cover that names a matter of another office (驾驶证过期了咋换) stays a
    # matter of its own, shown as not in the list, instead of joining its neighbour: joined, the whole matter read the
    # other office's cue and its own request was lost (messages-dev3 m3b-10, seen in the twenty-first round); only a
    # part with a sentence that asks about it (matters.asks) — one that only tells of it still joins
    unlisted_part_apart: bool = True
    # a short sentence that only says who writes (我在镇上开了个小超市。, matters.who_writes) is background when the
    # sentences are grouped into matters, never a matter of its own
    who_writes_background: bool = True
    # a sentence opening with a word that announces another matter (另外, 还有一个事, 二是: matters.opens_matter)
    # starts a matter of its own, even where its duties overlap the matter before (twenty-sixth round: a test message,
    # a market's short scales then a village shop's expired food, stood as one matter; no dev message changed)
    next_matter_words: bool = True
    message_weight: float = 2.0  # a message's first five after each matter's first duty: rank fusion of the
    # message's own ranking (this weight) and its matters' (weight 1); on the dev messages capped recall@5
    # 0.979 → 0.979 and 0.920 → 0.929 against picks of the first duties alone, weights 0.5 and 1 lower
    message_depth: int = 10  # how deep the message's own ranking enters that fusion
    # before that fusion: each matter's first duty's closest duty on the list (Retriever.companion: the county body's
    # and the town's part of one topic), when the message ranks it within this many (0: off)
    companion_depth: int = 10
    fusion_k: float = 10.0  # the fusion's rank constant (1 to 60 measured the same)
    evidence_margin: float = 0.06  # units within this of a duty's best unit count as matched evidence
    evidence_units: int = 6  # at most this many units shown as a duty's evidence
    evidence_steps: int = 2  # a duty's best-matching steps added to its evidence (so a card can mark them)
    decline_threshold: float = 0.47  # confidence below this: "not in the list"
    decline_question_weight: float = 0.75  # weight of the best similar question against the best list text
    decline_lexical_bonus: float = 0.1  # confidence bonus when lexicon, pinyin or a body name matched
    unlisted_fact_penalty: float = 0.4  # confidence penalty when the question asks for a fact no list holds
    related_threshold: float = 0.38  # topic confidence below this: nothing is near enough to show, even for reference
    # without a calibration (data/calibration.json) for the model: the decline rule above decides the tier
    calibrated: bool = True  # use the calibrated confidence models when there are some for the model
    # `duty-assistant calibrate` only: similar questions whose dense score reaches this are taken for near-copies of
    # the question and left out of its scores (1.0: none), so a dev question is scored as a fresh one would be
    unseen_above: float = 1.0
    outside_filter_margin: float = 0.1  # a duty outside the filter this much better than the best inside is named

    @classmethod
    def load(cls, path: str | Path | None) -> "RetrievalConfig":
        """Defaults, overridden by the keys of a JSON file; an unknown key is an error naming the valid ones."""
        if path is None:
            return cls()
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"config file not found: {path}") from None
        except IsADirectoryError:
            raise SettingsError(f"config file {path} is a folder; give a JSON file such as {{\"k\": 5}}") from None
        except (OSError, UnicodeDecodeError) as err:
            raise SettingsError(f"cannot read config file {path} ({getattr(err, 'strerror', None) or err})") from None
        except json.JSONDecodeError as err:
            raise SettingsError(f"config file {path} is not valid JSON ({err.msg}, line {err.lineno})") from None
        if not isinstance(data, dict):
            raise SettingsError(f"config file {path} must hold a JSON object of settings, e.g. {{\"k\": 5}}")
        return cls().with_(**data)

    def with_(self, **changes) -> "RetrievalConfig":
        valid = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - valid)
        if unknown:
            raise SettingsError(f"Unknown config key(s) {', '.join(unknown)}. Choose from {', '.join(sorted(valid))}.")
        defaults = {f.name: f.default for f in fields(self)}
        for key, value in changes.items():
            if not _fits(value, defaults[key]):
                raise SettingsError(f"config key {key} must be {_kind(defaults[key])}, got {value!r}")
            if _counts(defaults[key]) and value < 0:  # a count or a depth: -3 would silently mean "all but three"
                raise SettingsError(f"config key {key} must be 0 or more, got {value!r}")
        # a list from a JSON file is kept as a tuple (the config stays hashable)
        return replace(self, **{k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()})

    def to_json(self) -> dict:
        return asdict(self)


def _kind(default) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, (int, float)):
        return "a number"
    if isinstance(default, str):
        return "a string"
    if isinstance(default, tuple):
        return "a list of strings"
    return "a string or null"  # the optional ones (model, dim) default to None


def _counts(default) -> bool:
    """Whether a setting is a count, a length or a depth (a whole number; never negative)."""
    return isinstance(default, int) and not isinstance(default, bool)


def _fits(value, default) -> bool:
    """A value from a JSON file has the type of the setting's default (None allowed where the default is None)."""
    if default is None:
        return value is None or isinstance(value, (str, int)) and not isinstance(value, bool)
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, tuple):
        return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    return isinstance(value, type(default))
