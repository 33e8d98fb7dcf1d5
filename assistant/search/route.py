"""The route for questions the default model cannot read: Uyghur and Kazakh → a multilingual model's own index.

EmbeddingGemma reads Chinese, English and Russian well but not Uyghur or Kazakh (eval/questions/minority-*.jsonl:
it declines nearly all of them). multilingual-e5-small's XLM-R vocabulary covers both, so such a question goes
to that model (the setting `route_model`, default e5-small), with its own index of the same list, its own
calibrated tiers (data/calibration-<model>.json, fitted on the minority dev split) and the same answer cards.

What the route does to a question before searching it (`Route.prepare`):

1. Kazakh in Arabic script is transliterated to Cyrillic (assistant.search.scripts): the multilingual model
   learnt Kazakh mostly in Cyrillic.
2. Words of the question that data/lexicon_ug_kk.tsv knows are followed by the list's own Chinese words, as
   `question （词 词）`: the multilingual model matches Chinese list text far better than Uyghur, and BM25 (over
   Chinese tokens) and the hand-kept cues (a passport, a phone number …: matters no list holds) then see them.

Chinese and English questions never come here; Russian is read well by the default model and stays with it
unless `ROUTED` says otherwise.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import DataError
from assistant.search.config import RetrievalConfig
from assistant.search.query import clean
from assistant.search.scripts import arabic_evidence, kazakh_to_cyrillic, language, normalise_arabic

log = logging.getLogger(__name__)

ROUTED = ("ug", "kk", "kk-Arab")  # languages (assistant.search.scripts) the route answers

# The route's question-time settings, chosen on eval/questions/minority-dev.jsonl (README, "Questions in Uyghur
# and Kazakh"). Pinyin typo matching has nothing to do in these scripts, nor the share of unknown Chinese words.
# A Uyghur or Kazakh sentence is about three times as long in letters as its Chinese meaning, so "long message"
# starts later (as for English). Its BM25 cuts with jieba's own dictionary, as when its thresholds were chosen (the
# default model's cutter knows the lexicon's words too: segment.lexicon_cutter).
# the route's index leaves out the Chinese questions relayed by clerks (source zh_relay, twentieth round: with them
# e5-small's index, its refit answer threshold rose 0.81 -> 0.92 and right and answered on minority-test fell 0.950 ->
# 0.863; their frames — 窗口来了个大姐，说… — are no help to a question in Uyghur or Kazakh), and since the twenty-fifth
# round the neighbour-group questions (source neighbour_group: Chinese phrasings written to tell apart duties that
# share words; with them BM25's 集体 in a glossed wedding feast 农村集体聚餐 weighed for basic-46, and minority-test's
# right and answered fell 75 -> 73 of 80, refit without them 75, minority-dev unchanged, minority-dev2 cw 2 -> 1 of 80)
# and the setting questions (source setting, twenty-fifth round: a setting of another duty, then the matter; with
# them minority-dev2's top-1 fell 0.900 -> 0.883 and its cw rose 1 -> 2 of 80)
ROUTE_SETTINGS = dict(pinyin=False, long_chars=120, unknown_words=False, lexicon_cut=False,
                      question_sources_skipped=("zh_relay", "neighbour_group", "setting"))


@dataclass(frozen=True)
class RouteTerm:
    """One line of data/lexicon_ug_kk.tsv: a word (stem) of a language and the list's words it stands for."""

    lang: str  # "ug" or "kk" (Cyrillic; Kazakh in Arabic script is transliterated before matching)
    term: str
    official: tuple[str, ...]
    whole_word: bool = False  # the term must be a whole word (short stems: ئىت "dog" is not ئىتتىپاق "unity")
    source: str = ""


def load_route_lexicon(path: Path) -> list[RouteTerm]:
    """The route lexicon (TSV: lang, term, official, source; # comments); a damaged row is a DataError."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as err:
        raise DataError(f"cannot read {path} ({err.strerror or err})") from None
    rows = [line for line in lines if line.strip() and not line.startswith("#")]
    terms: list[RouteTerm] = []
    for number, row in enumerate(csv.DictReader(rows, delimiter="\t", quoting=csv.QUOTE_NONE), start=2):
        lang, term, official = (row.get(k, "") or "" for k in ("lang", "term", "official"))
        if lang not in ("ug", "kk") or not term.strip() or not official.strip():
            raise DataError(f"{path}: row {number} needs lang (ug or kk), term and official, got {dict(row)!r}")
        whole = term.endswith(".")
        terms.append(RouteTerm(lang, term.rstrip(".").strip().lower(), tuple(o for o in official.split("|") if o),
                               whole, row.get("source", "") or ""))
    return terms


_LETTER = r"[^\W\d_]"
# Kazakh in Arabic script does not tell о/ө, ұ/ү, ы/і apart outside the hamza rule, nor а/ә in words with
# ە، ك، گ (loanwords: كووپەراتيۆ → көөператив): Kazakh terms and text are compared with each pair folded.
_KAZAKH_FOLD = str.maketrans("әөүі", "аоұы")


def fold(text: str, lang: str) -> str:
    """Lower case; for Kazakh the front/back vowel pairs folded (see _KAZAKH_FOLD)."""
    text = text.lower()
    return text.translate(_KAZAKH_FOLD) if lang == "kk" else text


def term_pattern(term: RouteTerm) -> re.Pattern:
    """A term matches at the start of a word (these languages add suffixes: ئىتلار, иттер), or as a whole word.

    A Uyghur stem ending in ا or ە also matches with ى there: the vowel is raised before a suffix
    (گۇۋاھنامە → گۇۋاھنامىسى, بالا → بالىسى)."""
    text = re.escape(fold(term.term, term.lang))
    if term.lang == "ug" and not term.whole_word and term.term[-1:] in ("ا", "ە"):
        text = re.escape(term.term[:-1]) + "[اەى]"
    end = rf"(?!{_LETTER})" if term.whole_word else ""
    return re.compile(rf"(?<!{_LETTER}){text}{end}")


class RouteLexicon:
    """Finds the list's words for the words of a routed question."""

    def __init__(self, terms: list[RouteTerm]):
        self.terms = [(t, term_pattern(t)) for t in terms]

    def official(self, text: str, lang: str) -> list[str]:
        """The list's words for every known word of `text` (lang "ug" or "kk"), first seen first, no repeats."""
        folded = fold(text, lang)
        found: list[str] = []
        for term, pattern in self.terms:
            if term.lang == lang and pattern.search(folded):
                found.extend(o for o in term.official if o not in found)
        return found


def route_config(base: RetrievalConfig, model: str) -> RetrievalConfig:
    """The retrieval config of the route: the shipped one with the route model and ROUTE_SETTINGS."""
    return base.with_(model=model, **ROUTE_SETTINGS)


def prepare(question: str, lang: str, lexicon: RouteLexicon) -> str:
    """The text the route searches for a question in `lang` (see the module docstring)."""
    text = normalise_arabic(question)
    text = kazakh_to_cyrillic(text) if lang == "kk-Arab" else text
    words = lexicon.official(text, "ug" if lang == "ug" else "kk")
    return f"{text} （{' '.join(words)}）" if words else text


class Route:
    """The route's assistant (its model, index and calibration) and what it needs to prepare a question.

    Args:
        assistant: an `api.Assistant` opened for the route model (with the route's calibration).
        lexicon: the route lexicon.
        languages: the languages routed here (default ROUTED).
    """

    def __init__(self, assistant, lexicon: RouteLexicon, languages: tuple[str, ...] = ROUTED):
        self.assistant = assistant
        self.lexicon = lexicon
        self.languages = languages

    @property
    def model_id(self) -> str:
        return self.assistant.model_id

    def language(self, question: str) -> str | None:
        """The question's language when this route answers it, else None."""
        lang = language(question or "")
        if lang == "ug" and "kk-Arab" in self.languages and arabic_evidence(normalise_arabic(question)) == (0, 0):
            lang = self._by_lexicon(question)  # no letter tells the two apart: the words it knows do
        return lang if lang in self.languages else None

    def _by_lexicon(self, question: str) -> str:
        """Uyghur or Kazakh (Arabic script) for a text whose letters do not say: the one whose lexicon knows
        more of its words (Uyghur when even)."""
        text = normalise_arabic(question)
        kazakh = len(self.lexicon.official(kazakh_to_cyrillic(text), "kk"))
        return "kk-Arab" if kazakh > len(self.lexicon.official(text, "ug")) else "ug"

    @property
    def data(self):
        return self.assistant.data

    def search(self, question: str, k: int | None = None, filters=None, lang: str | None = None):
        """Search the prepared question with the route's retriever; the result shows the question as asked and
        its language, so the answer's labels come in that language beside Chinese (assistant.glossary).

        Raises QuestionError for a question in a language the route does not answer (calibrating and
        evaluating the route on its own then skip it)."""
        from assistant.errors import QuestionError

        lang = lang or self.language(question)
        if lang is None:
            raise QuestionError(f"the route answers questions in {', '.join(self.languages)} only")
        result = self.assistant.retriever.search(prepare(question, lang, self.lexicon), k, filters)
        asked, truncated = clean(question, self.assistant.config.max_chars)
        result.query.question, result.query.relay = asked, ""
        result.query.truncated = result.query.truncated or truncated
        result.query.lang = lang
        return result

    def with_config(self, **changes) -> "Route":
        """The same route with other question-time settings (the evaluator's and calibration's variants)."""
        return Route(self.assistant.with_config(**changes), self.lexicon, self.languages)

