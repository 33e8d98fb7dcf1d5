"""Question → ranked duties with evidence.

Signals, fused once per question:
- dense: cosine between the question (and, for a long message, each of its sentences) and every retrieval
  unit (duty, step, clause, similar question), aggregated to a duty by its best unit;
- lexical: BM25 over jieba tokens of each duty's text, max-normalised, at a small weight;
- department cue: a bonus for the duties of a county body the question names.
Then a confidence for declining: the best dense score plus a bonus when the question used the list's words.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field

import numpy as np

from assistant.search.config import RetrievalConfig
from assistant.data.bodies import asks_about_body
from assistant.data.departments import Registry
from assistant.domain import Duty, Evidence, Hit, ListKind, OutsideQuestion, Unit
from assistant.search.confidence import MESSAGE_CLOSE_CAP, Calibration, Features, rule_tier
from assistant.search.encode import Encoder
from assistant.search import matters
from assistant.search.lexical import LexicalScorer
from assistant.search.question_kind import QuestionKind
from assistant.search.segment import fluency, word_cuts
from assistant.errors import QuestionError
from assistant.search.cues import LexiconEntry, QuestionCues
from assistant.search.query import (PinyinMatcher, Query, clean, corrected, found_entries, language, rewritten,
                                    searchable, split_sentences)

# the ends of a county body's full name (局, 站 …; not 会: 工会 is a topic as well as a body)
BODY_SUFFIXES = ("局", "站", "所", "院", "委", "办", "中心", "队", "部")


@dataclass
class Filters:
    """Optional restrictions: a list, a category, a county body (any name form)."""

    list: ListKind | None = None
    category: str | None = None
    department: str | None = None  # canonical name

    def allows(self, duty: Duty) -> bool:
        if self.list is not None and duty.list is not self.list:
            return False
        if self.category and duty.category != self.category:
            return False
        if self.department and self.department not in duty.departments and not any(
            s.department == self.department for s in duty.steps
        ):
            return False
        return True


@dataclass
class Result:
    """What retrieval found for one question.

    `tier`: `answer` (the first hit answers), `possibly` (related hits, to be checked) or `not_in_list` (the list
    does not cover it; the hits are then the nearest duties, shown for reference only when `nearby`). `hits` is
    always the ranking, best first, whatever the tier (the evaluator scores it).
    `confidence`: the calibrated probability that the first hit is right (the topic confidence without one).
    """

    query: Query
    hits: list[Hit]
    tier: str
    confidence: float
    features: Features | None = None
    p_scope: float | None = None
    filters: "Filters | None" = None
    outside_filter: Hit | None = None  # a much better duty the filter left out
    nearby: bool = True  # not answered: the hits are near enough to show (to check, or for reference)
    signals: dict = field(default_factory=dict)
    matters: list["Matter"] = field(default_factory=list)  # a long message's matters (none for a question)

    @property
    def answered(self) -> bool:
        return self.tier == "answer"

    @property
    def related(self) -> bool:
        """Not answered, but there are duties to show (to check, or for reference)."""
        return self.tier != "answer" and self.nearby and bool(self.hits)


def _same_matter(a: Result, b: Result) -> bool:
    """Two parts of a message are one matter when their first duties are the same. (Either's first among the
    other's first two joined look-alike matters, a broken pump and a broken ditch: on the dev messages, messages
    split as labelled 0.67 → 0.75 and 0.55 → 0.65 with the stricter rule.)"""
    return bool(a.hits and b.hits) and a.hits[0].duty.id == b.hits[0].duty.id


@dataclass
class Matter:
    """One matter of a long message: its sentences (politeness dropped) and their own retrieval result."""

    text: str
    result: Result
    sentences: list[int] = field(default_factory=list)  # indices of the message's sentences


def _host(i: int, apart: list[bool]) -> int:
    """The part a background part `i` joins: its next neighbour, else the one before — passing over a side question
    about another office's matter that stays apart (`apart`), so that 这不是坑人吗？ between a complaint and a question
    about a driving licence joins the complaint; the nearest such part only when every other part stays apart."""
    order = [j for step in range(1, len(apart)) for j in (i + step, i - step) if 0 <= j < len(apart)]
    return next((j for j in order if not apart[j]), order[0])


def with_sentence_picks(order: list[int], sentence_scores: np.ndarray, allowed: np.ndarray, slots: int,
                        minimum: float, screen: int = 5) -> list[int]:
    """A long message often raises several matters: the best duty of each of its sentences that matches one
    well (≥ `minimum`) gets a place in the first `screen`, after the question's own best; at most `slots` of
    them, best first. The first duty never changes; the others keep their order.

    `order`: duty indices, best first; `sentence_scores`: one row of duty scores per sentence.
    """
    if not slots or not len(sentence_scores) or not order:
        return order
    picks: dict[int, float] = {}
    for row in sentence_scores:
        row = np.where(allowed, row, -np.inf)
        best = int(np.argmax(row))
        if row[best] >= minimum:
            picks[best] = max(picks.get(best, -np.inf), float(row[best]))
    new = [d for d in sorted(picks, key=lambda d: -picks[d]) if d not in order[:screen]][:slots]
    if not new:
        return order
    head = order[: max(1, screen - len(new))]
    return head + new + [d for d in order if d not in head and d not in new]


class Retriever:
    """Ranks duties for a question. Built from loaded parts; see `api.Assistant` for loading them.

    Args:
        duties: all duties, in list order.
        registry: the department registry.
        units: the index's unit table (row i ↔ vector i).
        faiss_index: the FAISS index over the units' vectors.
        encoder: encodes questions.
        config: weights and strategies.
        lexicon: everyday ↔ official entries.
        vocabulary: the list's own words, for pinyin matching.
        known_words: words never treated as typos.
        lexical_documents: one BM25 document per duty.
        cues: hand-kept question cues (list intent, facts and matters no list holds).
        calibration: the fitted confidence models; used only when fitted for `model_id`.
        model_id: the embedding model's id.
        outside: vectors of questions about matters the list does not hold (row i ↔ `outside_questions[i]`).
        outside_questions: those questions, with where people usually take them.
        cutter: the jieba tokenizer BM25 and typo matching cut with (segment.lexicon_cutter: jieba's dictionary and
            the lexicon's words); None: jieba's own.
    """

    def __init__(
        self, duties: list[Duty], registry: Registry, units: list[Unit], faiss_index, encoder: Encoder,
        config: RetrievalConfig, lexicon: list[LexiconEntry] = (), vocabulary: set[str] = frozenset(),
        known_words: set[str] = frozenset(), lexical_documents: list[str] | None = None,
        cues: QuestionCues | None = None, calibration: Calibration | None = None, model_id: str = "",
        outside: np.ndarray | None = None, outside_questions: list[OutsideQuestion] = (), cutter=None,
        question_kind: QuestionKind | None = None,
    ):
        self.duties = duties
        self.by_id = {d.id: d for d in duties}
        self.position = {d.id: i for i, d in enumerate(duties)}
        self.registry = registry
        self.units = units
        self.unit_duty = np.array([self.position[u.duty_id] for u in units], dtype=np.int64)
        self.faiss = faiss_index
        self.encoder = encoder
        self.config = config
        self.lexicon = list(lexicon)
        self.everyday: dict[str, tuple[str, ...]] = {}  # everyday name → the list's words for it, in lexicon order
        for entry in self.lexicon:
            self.everyday[entry.everyday] = self.everyday.get(entry.everyday, ()) + entry.official
        self.pinyin = PinyinMatcher(vocabulary, known_words) if vocabulary else None
        self.cutter = cutter  # the jieba tokenizer BM25 and typo matching cut with (None: jieba's own)
        self.lexical = LexicalScorer(lexical_documents, cutter) if lexical_documents else None
        self.cues = cues or QuestionCues()
        self.is_question = np.array([u.kind == "question" for u in units], dtype=bool)
        self.duty_units = [np.nonzero(self.unit_duty == i)[0] for i in range(len(duties))]
        self.duty_text = ["\n".join([d.title, *(s.text for s in d.steps)]) for d in duties]
        self.calibration = calibration if calibration is not None and calibration.model == model_id else None
        self.list_mask = {kind.value: np.array([d.list is kind for d in duties]) for kind in ListKind}
        self.department_mask = {
            name: np.array([name in d.departments for d in duties]) for name in registry.departments
        }
        self.outside = outside if outside is not None and len(outside) else None
        self.outside_questions = list(outside_questions)
        self.question_kind = question_kind  # the learnt reading of what a question asks (None: not fitted)

    @functools.cached_property
    def companion(self) -> np.ndarray:
        """Each duty's closest other duty on the list: the cosine of the means of their own texts' vectors (title and
        steps, not the similar questions). The list often holds one topic twice — a county body's part and the
        town's (消防监督检查 coop-85 and the town's 消防安全 basic-99; 私屠滥宰 coop-22 and 食品安全 basic-101; 污染防治
        coop-57 and 生态环境 basic-77) — and people's messages are labelled with both."""
        vectors = self.faiss.reconstruct_n(0, self.faiss.ntotal)
        means = np.zeros((len(self.duties), vectors.shape[1]), np.float32)
        for i, units in enumerate(self.duty_units):
            own = units[~self.is_question[units]]
            chosen = own if len(own) else units  # a duty indexed by similar questions only (none today) keeps them
            if len(chosen):
                means[i] = vectors[chosen].mean(axis=0)
        means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
        similar = means @ means.T
        np.fill_diagonal(similar, -np.inf)
        return similar.argmax(axis=1)

    def with_config(self, config: RetrievalConfig) -> "Retriever":
        """The same loaded parts with other question-time settings (weights, thresholds, cues on or off)."""
        other = copy.copy(self)
        other.config = config
        return other

    def with_cues(self, cues: QuestionCues) -> "Retriever":
        """The same loaded parts with other question cues (calibration fits without the cues written from dev)."""
        other = copy.copy(self)
        other.cues = cues
        return other

    # -- the question ---------------------------------------------------------------------------------

    def analyse(self, question: str, matter: bool = False) -> Query:
        """Clean and analyse a question; raise QuestionError when there is nothing to search for. `matter`: the text
        is one matter of a long message, one request however long, so the cues of facts and matters no list holds
        are read in it (a whole message mentions prices and dates as background, and is not read for them)."""
        text, truncated = clean(question, self.config.max_chars)
        if not text:
            raise QuestionError("The question is empty. Type what the person needs, e.g. 谁管流浪狗 / who handles stray dogs.")
        if not searchable(text):
            raise QuestionError("The question has no words to search for (only punctuation or symbols). Type a few words about the matter.")
        # 群众来问：…, 窗口来了个大爷，说…: who passes the question on is not what it asks, and only dilutes it
        relay = self.cues.relay_frame(text) if self.config.relay else ""
        text = text[len(relay):]
        query = Query(question=text, truncated=truncated, lang=language(text), relay=relay)
        # where jieba cuts the question, and the words it made up: cut once, when typo matching or two overlapping
        # lexicon terms need it
        segmented = functools.cache(lambda: word_cuts(text, self.pinyin.known if self.pinyin else frozenset(), self.cutter))
        if self.config.lexicon and self.lexicon:
            found = found_entries(text, self.lexicon, (lambda: segmented()[0]) if self.config.whole_words else None)
            pairs = [(entry.everyday, official) for entry in found for official in entry.official]
            query.expansions = list(dict.fromkeys(official for _, official in pairs))
            query.readings += pairs
            if query.expansions and self.config.lexicon_rewrite:
                other = rewritten(text, found)
                query.rewrite = other if other != text else ""
        if self.config.pinyin and self.pinyin:
            cuts, made_up = segmented()
            across = self.config.typo_across_cuts
            reads = functools.partial(fluency, cutter=self.cutter)
            pairs = self.pinyin.correction_pairs(text, cuts, made_up, reads if across > 0 else None, across)
            query.corrections = [word for _, word in pairs]
            query.readings += pairs
            if pairs and self.config.typo_rewrite:
                other = corrected(query.rewrite or text, pairs)
                query.rewrite = other if other != text else ""
            named = [(chunk, word) for chunk, word in pairs if self.everyday.get(word)] if self.config.lexicon else []
            if named:
                # a mistyped everyday name is read in the list's words too: 和疗 → 合疗 → 基本医疗保险, read as
                # 和疗 → 基本医疗保险 (what was typed, and the word the duty uses)
                officials = [(chunk, official) for chunk, word in named for official in self.everyday[word]]
                query.expansions = list(dict.fromkeys(query.expansions + [official for _, official in officials]))
                query.readings += officials
                if query.rewrite and self.config.lexicon_rewrite:
                    query.rewrite = corrected(query.rewrite, [(word, self.everyday[word][0]) for _, word in named])
        query.list_intent = self.cues.lists(text)
        if matter or not self.is_long(query):  # a long message mentions prices, weekends or a bank loan as context
            self._read_cues(query, text)
        query.department_forms = self.registry.named_forms(text)
        if query.department_forms and self.config.town_or_body:
            query.town_or_body = self.cues.town_or_body(text)
        if len(text) >= self.config.long_chars and (self.config.sentence_weight > 0 or self.config.sentence_slots > 0):
            sentences = split_sentences(text)
            query.sentences = sentences if len(sentences) > 1 else []
        return query

    def _mentioning(self, terms: list[str]) -> np.ndarray:
        """1.0 for each duty whose own text (title, steps) uses any of `terms`, else 0.0."""
        return np.array([any(term in text for term in terms) for text in self.duty_text], dtype=np.float32)

    def _naming(self, query: Query, name: str) -> np.ndarray:
        """The duties whose own text uses the words with which the question named body `name`: such words are the
        duty's topic as well as a body's name (工会: the town's trade-union duty, basic-17, as well as the county
        federation's coop-40; 消防: the town's fire-safety duties). Without this, naming the topic boosted only the
        county body's duties, and 想成立个工会 went to the federation's mutual medical aid."""
        if not self.config.department_topic:
            return np.zeros(len(self.duties), dtype=bool)
        words = [form for form, named in query.department_forms if named == name and not form.isascii()
                 # asked between the town and a body (镇上审核还是民政局), the body's full name is no topic: duties that
                 # name it as the county actor of a step (县民政局负责…) are not lifted by it
                 and not (query.town_or_body and form.endswith(BODY_SUFFIXES))]
        return self._mentioning(words).astype(bool) if words else np.zeros(len(self.duties), dtype=bool)

    def _read_cues(self, query: Query, text: str) -> Query:
        """Read `text` for the cues of facts, kinds of question and matters no list holds (data/question_cues.json)."""
        query.unlisted_fact = self.cues.unlisted_fact(text)
        query.fact_question = self.cues.fact_question(text)
        query.other_question = self.cues.other_question(text) if self.config.other_questions else ""
        query.kind_unanswerable = (self.question_kind.probability(text)
                                   if self.question_kind is not None and self.config.question_kind else 0.0)
        query.unlisted_matter, query.hint, query.hint_en = self.cues.unlisted_matter(text)
        return query

    def _one_matter(self, query: Query, text: str | None = None) -> Query:
        """A long question that raises one matter is that one request, however much background it tells first
        (我是东湾村的，今年五十八，… 我就想问到底够不够条件): read for the cues like a matter of a message — `text`,
        the matter's own sentences where the background was told apart, else the whole question."""
        if not self.config.long_question_cues:
            return query
        return self._read_cues(copy.copy(query), text or query.question)

    def is_long(self, query: Query) -> bool:
        """A message rather than a question: `long_chars` characters (English words are longer: three times)."""
        return len(query.question) >= self.config.long_chars * (3 if query.lang == "en" else 1)

    # -- scoring --------------------------------------------------------------------------------------

    def _scores(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Question vectors → (unit scores, duty scores), one row per vector; a duty scores its best unit."""
        n_units = len(self.units)
        exact = not hasattr(self.faiss, "hnsw")  # what the index is (index_type `auto` picks one by size)
        k = n_units if exact else min(n_units, self.config.approximate_depth)
        scores, ids = self.faiss.search(np.ascontiguousarray(vectors, dtype=np.float32), k)
        unit_scores = np.full((len(vectors), n_units), -1.0, dtype=np.float32)
        for row in range(len(vectors)):
            valid = ids[row] >= 0
            unit_scores[row, ids[row][valid]] = scores[row][valid]
        duty_scores = np.full((len(vectors), len(self.duties)), -1.0, dtype=np.float32)
        for row in range(len(vectors)):
            np.maximum.at(duty_scores[row], self.unit_duty, unit_scores[row])
        return unit_scores, duty_scores

    def _dense(self, query: Query, vector: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(duty scores, unit scores of the whole question, duty scores of each sentence of a long message).
        `vector`: the question's vector when already encoded (a message's matters are encoded in one batch).
        A question with everyday terms the lexicon knows or typos pinyin matching found, whose best duty scores
        below `rewrite_below`, is encoded a second time in the list's words (`Query.rewrite`), and each unit keeps
        its better score."""
        if vector is not None:
            vectors = vector[None, :]
            query.sentences = []
        else:
            texts = [query.expanded if self.config.dense_expansion else query.question] + query.sentences
            vectors = self.encoder.queries(texts)
        unit_scores, duty_scores = self._scores(vectors)
        if self.outside is not None and self.config.outside_questions:
            # how close the question (as asked, not rewritten) comes to a matter the list does not hold
            similar = self.outside @ vectors[0]
            row = int(np.argmax(similar))
            query.outside = float(similar[row])
            if query.outside >= self.config.outside_hint_min and self.outside_questions:
                nearest = self.outside_questions[row]
                query.outside_matter, query.outside_office = nearest.matter, nearest.office
        typo = bool(query.corrections) and self.config.typo_rewrite_any
        if query.rewrite and vector is None and (typo or float(duty_scores[0].max()) < self.config.rewrite_below):
            # the model may not know a popular or outdated name, or read a typo: each unit keeps the better of
            # the question's score and the score of the question in the list's words
            other_units, other_duties = self._scores(self.encoder.queries([query.rewrite]))
            unit_scores[0] = np.maximum(unit_scores[0], other_units[0])
            duty_scores[0] = np.maximum(duty_scores[0], other_duties[0])
        if self.config.unseen_above < 1.0 and vector is None:
            # calibration only: the question's near-copies among the similar questions are taken out, so that it
            # is scored as a question nobody wrote a similar question after
            near = self.is_question & (unit_scores[0] >= self.config.unseen_above)
            if near.any():
                unit_scores[0][near] = -1.0
                duty_scores[0] = -1.0
                np.maximum.at(duty_scores[0], self.unit_duty, unit_scores[0])
        dense, sentence_scores = duty_scores[0], duty_scores[1:]
        if query.sentences and self.config.sentence_weight > 0:
            dense = np.maximum(dense, self.config.sentence_weight * sentence_scores.max(axis=0))
            return dense, unit_scores.max(axis=0), sentence_scores
        return dense, unit_scores[0], sentence_scores

    def search(self, question: str, k: int | None = None, filters: Filters | None = None) -> Result:
        """Rank duties for a question.

        Args:
            question: what the person asked, any language.
            k: how many duties to return (None: the config's `k`).
            filters: optional list / category / department restriction. Confidence is computed over the
                duties the filter allows; a much better duty outside it is reported in `outside_filter`.
        Returns:
            A Result: hits best first (each with its evidence), the tier and the confidence.
        """
        k = self.config.k if k is None else k
        if k < 1:
            raise QuestionError(f"k (how many duties to show) must be at least 1, got {k}")
        query = self.analyse(question)
        if self.config.matters and self.config.dense_weight > 0 and self.is_long(query):
            return self._route(query, k, filters)
        return self._body_part(query, k, filters) or self._rank(query, k, filters)

    def _body_part(self, query: Query, k: int, filters: Filters | None) -> Result | None:
        """A question about a county body's part as a whole (县发改委要镇上配合啥, 人社局从镇上收回了哪些事: it names one
        body and nothing else but question words, `asks_about_body`): the body's own duties — those it leads, took
        over or has steps in — of the list the question asks about, ranked as usual. The list answers such a
        question exactly, so the tier is `answer` whatever the margins between the body's duties (which the
        confidence models would read as doubt). None when the question is not of this kind, or when the body has
        no duty in that list or under the filter: then it is ranked like any question."""
        if not self.config.body_part:
            return None
        body = asks_about_body(query.question, self.registry)
        if body is None or (filters and filters.department and filters.department != body):
            return None
        kinds = [ListKind(v) for v in query.list_intent]
        kind = filters.list if filters and filters.list else (kinds[0] if len(kinds) == 1 else None)
        part = Filters(kind, filters.category if filters else None, body)
        if not any(part.allows(d) for d in self.duties):
            return None
        result = self._rank(query, k, part)
        result.filters, result.outside_filter = filters, None
        result.tier, result.confidence, result.p_scope, result.nearby = "answer", 1.0, 1.0, True
        result.signals["body_part"] = body
        return result

    def _route(self, query: Query, k: int, filters: Filters | None) -> Result:
        """A long message: split it into matters (matters.py), rank each like a question, and fill the message's
        first five from its matters' rankings (see `_rank`). Only the sentences are encoded, in one batch; a
        matter's vector is the mean of its sentences', the message's their length-weighted mean."""
        parts = matters.sentences(query.question, query.lang)
        if len(parts) < 2:
            return self._rank(self._one_matter(query), k, filters)
        # the sentences in one batch; the message is their length-weighted mean, not encoded once more
        vectors = self.encoder.queries(parts)
        message = matters.message_vector(vectors, [len(p) for p in parts])
        _, sentence_duties = self._scores(vectors)
        told = [matters.who_writes(p) for p in parts] if self.config.who_writes_background else []
        opens = [matters.opens_matter(p) for p in parts] if self.config.next_matter_words else []
        groups = matters.group(sentence_duties, self.config.matter_background, self.config.matter_overlap, told,
                               opens)
        found = self._matters(parts, vectors, groups, k, filters)
        if len(found) < 2:
            return self._rank(self._one_matter(query, found[0].text if found else None), k, filters, vector=message)
        orders = [[self.position[h.duty.id] for h in m.result.hits] for m in found
                  if m.result.hits and m.result.tier != "not_in_list"]
        overall = self._rank(query, k, filters, vector=message, matter_orders=orders)
        if self.config.matter_cues:
            # once the matters stand, each is read as the one request it is: 今年小麦收购价多少钱一公斤 asks an amount the
            # list does not hold, however long the matter. Only for the matters' own blocks: read so before grouping,
            # such parts joined their neighbours and messages split worse (matter recall@3 on messages-dev3 0.988 ->
            # 0.952), and the message's first five are left as they were ranked (fed the cue-read matters, capped
            # recall@5 there 0.804 -> 0.794)
            # (only a matter the cues catch is ranked again: for the others the reading is the same)
            found = [self._matter(parts, vectors, m.sentences, filters, cues=True) if self.cues.any_unlisted(m.text)
                     else m for m in found]
        overall.matters = found
        if self.config.message_lead_in_matters and overall.tier == "answer" and \
                overall.hits[0].duty.id not in {m.result.hits[0].duty.id for m in found if m.result.hits}:
            # the message's first duty is no matter's first: its mean vector fell between its matters (on the dev
            # messages such a first duty was wrong in two of five); the matters' own blocks keep their tiers
            overall.tier = "possibly"
        return overall

    def _matter(self, parts: list[str], vectors: np.ndarray, group: list[int], filters: Filters | None,
                cues: bool = False) -> Matter:
        """A group of a message's sentences ranked like a question, its vector the mean of its sentences'; `cues`:
        read for facts and matters the list does not hold (Retriever.analyse, `matter`)."""
        text = "".join(parts[i] for i in group)
        mean = vectors[group].mean(axis=0)
        result = self._rank(self.analyse(text, matter=cues), self.config.matter_k, filters,
                            vector=mean / max(float(np.linalg.norm(mean)), 1e-12))
        return Matter(text, result, group)

    def _matters(self, parts: list[str], vectors: np.ndarray, groups: list[list[int]], k: int,
                 filters: Filters | None) -> list[Matter]:
        """Rank each group of sentences like a question (its vector: the mean of its sentences'); a group the
        list does not cover (tier `not_in_list`: background, a complaint without a matter) joins its neighbour,
        a group shorter than `matter_min_chars` joins the group closest to it, and groups whose first duty is the
        same are one matter."""

        found = [self._matter(parts, vectors, g, filters) for g in groups]
        while len(found) > 1:
            # a part the list does not cover joins its neighbour; two parts about the same duties (a message
            # may come back to its matter) are one matter
            apart = [m.result.tier == "not_in_list" and self._unlisted_apart(parts, m) for m in found]
            pair = next(((i, _host(i, apart)) for i, m in enumerate(found)
                         if m.result.tier == "not_in_list" and not apart[i]), None)
            # a part too short to be a matter of its own (镇上能不能帮个忙?, 这种地方有莫有人管?) joins the part it is
            # closest to, which need not be its neighbour (a plea at the end may be about the first matter); closeness
            # is the dot product of the two parts' mean sentence vectors, i.e. the mean cosine over their sentence pairs
            short = None if pair else next((i for i, m in enumerate(found)
                                            if len(m.text) < self.config.matter_min_chars), None)
            if short is not None:
                mine = vectors[found[short].sentences].mean(axis=0)
                near = [float(vectors[m.sentences].mean(axis=0) @ mine) if j != short else -np.inf
                        for j, m in enumerate(found)]
                pair = (short, int(np.argmax(near)))
            pair = pair or next(((i, j) for i in range(len(found)) for j in range(i + 1, len(found))
                                 if _same_matter(found[i].result, found[j].result)), None)
            if pair is None:
                break
            lo, hi = sorted(pair)
            merged = self._matter(parts, vectors, sorted(found[lo].sentences + found[hi].sentences), filters)
            found = found[:lo] + [merged] + found[lo + 1:hi] + found[hi + 1:]
        return found

    def _unlisted_apart(self, parts: list[str], matter: Matter) -> bool:
        """Whether a part the list does not cover stays a matter of its own: one of its sentences asks about a matter
        of another office (data/question_cues.json `unlisted_matters`: 驾驶证过期了，现在咋换?), so it is a request of
        its own, not background to its neighbour. A matter only told (死亡证明我已经开了。, 切菜的连个健康证都没有。) is
        background and joins its neighbour as before."""
        return self.config.unlisted_part_apart and self.config.matter_cues and any(
            self.cues.unlisted_matter(parts[i])[0] and matters.asks(parts[i]) for i in matter.sentences)

    def _rank(self, query: Query, k: int, filters: Filters | None, vector: np.ndarray | None = None,
              matter_orders: list[list[int]] = ()) -> Result:
        """Rank duties for an analysed question (the body of `search`). A message's `matter_orders` (each matter's
        ranking) fill its first five: every matter's first duty, then each one's closest duty on the list where the
        message ranks it within `companion_depth` (`companion`), then the rank fusion of the message's ranking and
        theirs (matters.fused); the message's first duty stays first."""
        n_duties = len(self.duties)
        if self.config.dense_weight > 0:
            dense, unit_scores, sentence_scores = self._dense(query, vector)
        else:
            dense, unit_scores = np.zeros(n_duties, np.float32), np.zeros(len(self.units), np.float32)
            sentence_scores = np.zeros((0, n_duties), np.float32)
        score = self.config.dense_weight * dense
        bm25 = np.zeros(n_duties, np.float32)
        lexical_top = 0.0
        if self.lexical is not None and self.config.bm25_weight > 0:
            raw = self.lexical.scores(query.expanded)
            lexical_top = float(raw.max()) if len(raw) else 0.0
            if lexical_top > 0:
                bm25 = raw / lexical_top
                score = score + self.config.bm25_weight * bm25
        for name in query.departments:
            mask = self.department_mask.get(name)
            if mask is not None:
                # a body named as one of the two the question asks between (镇上收还是水利局收) is no evidence for its
                # own duties; the words still count where a duty's own text uses them (消防, 工会)
                own = mask if not query.town_or_body else np.zeros_like(mask)
                score = score + self.config.department_boost * (own | self._naming(query, name))
        for kind in query.list_intent:
            score = score + self.config.list_intent_boost * self.list_mask[kind]
        if self.config.lexicon_boost and query.expansions:
            # an everyday word the lexicon maps to the list's words is evidence for the duties using those words
            score = score + self.config.lexicon_boost * self._mentioning(query.expansions)
        allowed = np.array([filters.allows(d) for d in self.duties]) if filters else np.ones(n_duties, bool)
        kept = np.where(allowed, score, -np.inf)
        order = [int(i) for i in np.argsort(-kept, kind="stable") if np.isfinite(kept[i])]
        order = with_sentence_picks(order, sentence_scores, allowed, self.config.sentence_slots,
                                    self.config.sentence_pick_min)
        if matter_orders:
            fusion = matters.fused([order[:self.config.message_depth]] + list(matter_orders),
                                   [self.config.message_weight] + [1.0] * len(matter_orders), self.config.fusion_k)
            firsts = [o[0] for o in matter_orders]
            # each matter's first duty's closest duty on the list, when the message ranks it near the top anyway
            near = order[:self.config.companion_depth]
            companions = [int(self.companion[f]) for f in firsts] if near else []
            picks = firsts + [c for c in companions if c in near] + fusion
            order = matters.with_picks(order, [p for p in picks if allowed[p]])
        # everything below looks at the allowed duties only: a filter is part of the question
        allowed_units = allowed[self.unit_duty]
        unit_kept = np.where(allowed_units, unit_scores, -1.0)
        hits = [Hit(self.duties[i], float(kept[i]), self._evidence(i, unit_kept)) for i in order[:k]]

        cue = bool(query.expansions or query.corrections or query.departments)
        topic = self._confidence(unit_kept, allowed_units, cue)
        calibrated = self.config.dense_weight > 0 and len(unit_scores)  # BM25 alone never declines
        features = None
        p_scope = None
        if not order:
            tier, confidence = "not_in_list", 0.0
        elif not calibrated:
            tier, confidence = "answer", 1.0
        else:
            features = self._features(query, order, kept, np.where(allowed, dense, -1.0), np.where(allowed, bm25, 0.0),
                                      unit_kept, topic, cue)
            if self.calibration is not None and self.config.calibrated:
                tier, confidence, p_scope = self.calibration.tier(features)
                if tier == "answer" and topic < self.config.related_threshold:
                    # nothing in the list is near enough even to show for reference: never certain. The models were
                    # fitted on what people ask; a thousand times "x" lies outside all of it (no dev question this
                    # far from the list was answered, so the fit is unchanged)
                    tier, confidence = "not_in_list", min(confidence, topic)
            else:
                penalty = self.config.unlisted_fact_penalty if (query.unlisted_fact or query.unlisted_matter) else 0.0
                tier = rule_tier(topic, penalty, self.config.decline_threshold, self.config.related_threshold)
                confidence = topic - penalty
        # a matter off the list: its nearest duties are shown for reference only when they are near at all
        nearby = tier != "not_in_list" or topic >= self.config.related_threshold
        outside = None
        if filters and order:
            best = int(np.argmax(score))
            if not allowed[best] and score[best] - kept[order[0]] >= self.config.outside_filter_margin:
                outside = Hit(self.duties[best], float(score[best]), self._evidence(best, unit_scores))
        signals = {"topic": topic, "lexical_top": lexical_top, "cue": cue, "unlisted_fact": query.unlisted_fact,
                   "unlisted_matter": query.unlisted_matter}
        return Result(query, hits, tier, float(confidence), features, p_scope, filters, outside, nearby, signals)

    def _features(self, query: Query, order: list[int], fused: np.ndarray, dense: np.ndarray, bm25: np.ndarray,
                  unit_scores: np.ndarray, topic: float, cue: bool) -> Features:
        """The features of a retrieval that the calibrated models read (see confidence.py)."""
        first = order[0]
        second = fused[order[1]] if len(order) > 1 else fused[first] - 1.0
        others = np.delete(dense, first)
        rows = self.duty_units[first]
        own = rows[~self.is_question[rows]]
        asked = rows[self.is_question[rows]]
        own_text = float(unit_scores[own].max()) if len(own) else -1.0
        own_question = float(unit_scores[asked].max()) if len(asked) else own_text
        duty_text = self.duty_text[first]
        expansions = [t for t in query.expansions + query.corrections if t]
        # which duty each kind of unit alone puts first: the list's own text, and the similar questions
        content_best = np.full(len(self.duties), -1.0, dtype=np.float32)
        np.maximum.at(content_best, self.unit_duty[~self.is_question], unit_scores[~self.is_question])
        question_best = np.full(len(self.duties), -1.0, dtype=np.float32)
        np.maximum.at(question_best, self.unit_duty[self.is_question], unit_scores[self.is_question])
        close = float(np.sum(fused >= fused[first] - 0.03) - 1)
        long = self.is_long(query)
        return Features(
            topic=topic,
            top_dense=float(dense[first]),
            own_text=own_text,
            own_question=own_question,
            margin=float(fused[first] - second),
            dense_margin=float(dense[first] - (others.max() if len(others) else -1.0)),
            bm25_first=float(bm25[first]),
            bm25_agrees=float(bm25.max() > 0 and int(np.argmax(bm25)) == first),
            dense_agrees=float(int(np.argmax(dense)) == first),
            cue=float(cue),
            lexicon_points=float(any(t in duty_text for t in expansions)),
            department_points=float(any(name in self.duties[first].departments or
                                        any(s.department == name for s in self.duties[first].steps) or
                                        bool(self._naming(query, name)[first])
                                        for name in query.departments)),
            unlisted_fact=float(bool(query.unlisted_fact)),
            fact_question=float(bool(query.fact_question)),
            unlisted_matter=float(bool(query.unlisted_matter)),
            long=float(long),
            text_agrees=float(int(np.argmax(content_best)) == first),
            question_agrees=float(int(np.argmax(question_best)) == first),
            close_duties=close,
            english=float(query.lang == "en"),
            unknown_words=(self.lexical.unknown_share(query.question, {said for said, _ in query.readings})
                           if self.lexical is not None and self.config.unknown_words else 0.0),
            outside=query.outside,
            message_close_duties=min(close, MESSAGE_CLOSE_CAP) if long else 0.0,
            other_question=float(bool(query.other_question)),
            kind_unanswerable=query.kind_unanswerable,
        )

    def _confidence(self, unit_scores: np.ndarray, allowed_units: np.ndarray, cue: bool) -> float:
        """How sure we are that the list covers the question's topic (not which duty answers it).

        The best match among the list's own text (duties, steps, clauses) and among the similar questions are
        averaged: a question shaped like a common one ("…去哪办") can match a similar question well while its
        topic matches no duty text, and a terse keyword can match duty text while no similar question is close.
        Using the list's words (lexicon, pinyin, a body's name) raises it.
        """
        if self.config.dense_weight <= 0 or not len(unit_scores):
            return 1.0  # BM25 alone has no calibrated score; it never declines
        content = unit_scores[~self.is_question & allowed_units]
        questions = unit_scores[self.is_question & allowed_units]
        best_content = float(content.max()) if len(content) else -1.0
        if len(questions):
            w = self.config.decline_question_weight
            base = (best_content + w * float(questions.max())) / (1 + w)
        else:
            base = best_content
        return base + (self.config.decline_lexical_bonus if cue else 0.0)

    def _evidence(self, duty_index: int, unit_scores: np.ndarray) -> list[Evidence]:
        """The duty's units that matched best; its best-matching steps always among them, so a card can mark
        which steps answer even when a similar question or the whole duty matched best."""
        rows = self.duty_units[duty_index]
        margin = self.config.evidence_margin
        best = float(unit_scores[rows].max())
        chosen = [r for r in rows if unit_scores[r] >= best - margin]
        steps = [r for r in rows if self.units[r].step is not None]
        if steps:
            best_step = float(unit_scores[steps].max())
            chosen += [r for r in steps if unit_scores[r] >= best_step - margin / 2 and r not in chosen][: self.config.evidence_steps]
        chosen.sort(key=lambda r: -unit_scores[r])
        return [Evidence(self.units[r], float(unit_scores[r])) for r in chosen[: self.config.evidence_units]]
