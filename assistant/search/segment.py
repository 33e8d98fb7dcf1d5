"""jieba, the Chinese word segmenter, set up once for this project.

jieba keeps a cache of its dictionary (a marshal file) and by default writes it to, and reads it back from, a
fixed name in the shared temporary folder (`/tmp/jieba.cache`), where any other user of the machine can replace
it. Here it lives in the project's cache folder (`$DUTY_ASSISTANT_CACHE/jieba/`, private), and jieba logs
nothing. Every use of jieba in this package goes through `segmenter()`.
"""

from __future__ import annotations

import re
import threading

# a Chinese word of two or more characters: the words that can carry a topic, and where a typo can sit
HAN_WORD = re.compile(r"[\u4e00-\u9fff]{2,}")
_lock = threading.Lock()
_ready = False
_lexicon_cutter = None


def segmenter():
    """The jieba module, its dictionary cache under the project's cache folder (set before its first use)."""
    global _ready
    import jieba

    if not _ready:
        with _lock:
            if not _ready:
                from assistant.settings import current

                folder = current().cache / "jieba"
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                jieba.dt.tmp_dir = str(folder)
                jieba.setLogLevel(60)
                _ready = True
    return jieba


def cutter_or_jieba(cutter=None):
    """`cutter` (a jieba tokenizer, e.g. `lexicon_cutter()`), or jieba's own when None."""
    return cutter or segmenter().dt


def lexicon_cutter():
    """jieba's dictionary plus the words `add_words` taught it (the lexicon's): the cutter the default retriever reads
    with — its BM25 documents and questions, its unknown-word share, its typo matching (`word_cuts`, `fluency`). A
    second jieba tokenizer (~70 MB, 0.4 s to load), so that the Uyghur/Kazakh route, the vocabulary and the Review desk
    keep jieba's own cuts: taught to the route as well, its BM25 features moved and its small dev set's thresholds
    with them (eighteenth round: minority-test right and answered 0.875 -> 0.762)."""
    global _lexicon_cutter
    if _lexicon_cutter is None:
        jieba = segmenter()
        with _lock:
            if _lexicon_cutter is None:
                cutter = jieba.Tokenizer()
                cutter.tmp_dir = jieba.dt.tmp_dir
                cutter.initialize()
                _lexicon_cutter = cutter
    return _lexicon_cutter


def add_words(words) -> None:
    """Teach `lexicon_cutter` the words it lacks (the lexicon's everyday names and the list's terms it maps them to:
    一卡通, 春防, 合疗). Without them such a word is cut up by jieba's HMM as a made-up word, a piece of it may be taken
    for a typo (春防羊的免役 was read 防羊 → 放羊), and BM25 sees pieces. Words jieba already knows keep their
    frequencies. Process-wide and idempotent."""
    cutter = lexicon_cutter()
    with _lock:
        for word in sorted(words):
            if HAN_WORD.fullmatch(word) and not cutter.FREQ.get(word):
                cutter.add_word(word)


def word_cuts(text: str, known: set[str] | frozenset = frozenset(), cutter=None) -> tuple[set[int], list[tuple[int, int]]]:
    """Where jieba cuts `text` (character offsets, both ends included), and the spans of the words of two or more
    characters it made up (its HMM joins characters no dictionary word covers; `known`: the words that are real).
    A made-up word is where a typo usually sits: 打疫描找谁 is cut 打疫|描找. `cutter`: a jieba tokenizer (default:
    jieba's own)."""
    cuts = {0, len(text)}
    made_up: list[tuple[int, int]] = []
    for word, start, end in cutter_or_jieba(cutter).tokenize(text):
        cuts.update((start, end))
        if word not in known and HAN_WORD.fullmatch(word):
            made_up.append((start, end))
    return cuts, made_up


def fluency(text: str, cutter=None) -> float:
    """How well `text` reads as Chinese: the log-probability of jieba's best cut of it by its dictionary's word
    frequencies (a unigram language model; higher is better). 打疫苗找谁 reads 13 better than 打疫描找谁."""
    if not text:
        return 0.0
    tokenizer = cutter_or_jieba(cutter)
    tokenizer.check_initialized()
    route: dict = {}
    tokenizer.calc(text, tokenizer.get_DAG(text), route)
    return route[0][0]
