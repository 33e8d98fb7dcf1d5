"""A question as people type it → what retrieval works with: cleaned text, everyday words mapped to the
list's words (lexicon), typos and homophones mapped by pinyin, the county bodies it names, its sentences.

Pure functions over data loaded elsewhere (the lexicon, the vocabulary of the list).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.search.cues import LexiconEntry
from assistant.search.segment import HAN_WORD

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")  # control characters: a space
# Invisible characters are dropped, not spaced, so a word pasted with a zero-width space (流\u200b浪狗) stays one
# word: zero-width and bidi marks, soft hyphen, BOM, and lone surrogates (undecodable bytes from a terminal or a
# JSON "\udcff" escape, which the tokenizer cannot encode).
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ud800-\udfff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_HAN_WORD = re.compile(r"[\u4e00-\u9fff]+")
_LATIN = re.compile(r"[A-Za-z]")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])|(?<=[.](?=\s))")





@dataclass
class Query:
    """A question, analysed."""

    question: str  # as given (after cleaning and capping), less the frame of a relayed question
    truncated: bool
    lang: str  # zh | en | mixed
    expansions: list[str] = field(default_factory=list)  # the list's words for everyday words in the question
    corrections: list[str] = field(default_factory=list)  # the list's words a typo or homophone stands for
    rewrite: str = ""  # the question with its everyday terms and typos replaced by the list's words ("" when none)
    # (what the question says, the list's word it was read as): everyday names (新农合 → 基本医疗保险) and typos
    # (宅鸡地 → 宅基地), for the answer to say how it read the question
    readings: list[tuple[str, str]] = field(default_factory=list)
    # (the words, the body) of each body the question names: 工会 names the county federation of trade unions, and
    # is also what the town's own trade-union duty is about
    department_forms: list[tuple[str, str]] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)  # of a long, message-style question
    list_intent: list[str] = field(default_factory=list)  # lists the question asks about (收回 → reclaimed)
    unlisted_fact: str = ""  # the cue if it asks for a fact no list holds (a phone number, office hours, a price)
    fact_question: str = ""  # the words if it asks how much or when (多少, 啥时候): the list states no amounts or dates
    other_question: str = ""  # the words if no list could answer it by its kind (a forecast, where to buy, an opinion)
    kind_unanswerable: float = 0.0  # the learnt reading of the same kinds (question_kind.py): p(asks what no list holds)
    unlisted_matter: str = ""  # the cue if it names a matter no list holds (a registration, a certificate …)
    hint: str = ""  # for such a matter, where people usually ask (general knowledge, not from the list)
    hint_en: str = ""
    # similarity to the closest question about a matter the list does not hold (data/outside_questions.jsonl)
    outside: float = 0.0
    # … and, when it is very close (`outside_hint_min`), its matter and where people take it (general knowledge)
    outside_matter: str = ""
    outside_office: str = ""
    # the words if it asks which of the town and a county body it names handles the matter (镇上收还是水利局收): that
    # body is one of two candidates, not a word about the matter
    town_or_body: str = ""
    relay: str = ""  # the frame of a relayed question taken off its start (群众来问：): who asks, not what

    @property
    def departments(self) -> list[str]:
        """Canonical names of the bodies the question names, in order of first mention."""
        return list(dict.fromkeys(name for _, name in self.department_forms))

    @property
    def typed(self) -> str:
        """The question as typed (cleaned), relay frame included: what an answer shows."""
        return self.relay + self.question

    @property
    def expanded(self) -> str:
        """The question with the list's words for what it says appended (for lexical and dense matching)."""
        extra = [t for t in dict.fromkeys(self.expansions + self.corrections) if t not in self.question]
        return self.question if not extra else f"{self.question} （{' '.join(extra)}）"


RAW_CUT = 4  # a question is cut to this many times `max_chars` before any work on it (a 20 MB body was read whole)


def clean(text: str, max_chars: int) -> tuple[str, bool]:
    """Invisible characters out, NFKC, control characters out, whitespace collapsed, capped at `max_chars`."""
    text = text or ""
    cut = len(text) > RAW_CUT * max_chars
    if cut:  # only the start is kept anyway; room for the invisible characters and spaces cleaning removes
        text = text[: RAW_CUT * max_chars]
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))
    text = _CONTROL.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip()
    truncated = cut or len(text) > max_chars
    return (text[:max_chars].rstrip() if truncated else text), truncated


def language(text: str) -> str:
    han, latin = len(_HAN.findall(text)), len(_LATIN.findall(text))
    if han and latin >= 3 * max(han, 1):
        return "mixed" if han >= 2 else "en"
    if han:
        return "zh" if latin < 4 else "mixed"
    return "en" if latin else "zh"


def searchable(text: str) -> bool:
    """Has at least one letter or CJK character (or digit) to search for."""
    return any(unicodedata.category(c)[0] in "LN" for c in text)


OTHER_SCRIPT_NOTICE = ("请用中文或英文提问：清单是中文的，其他文字可能无法识别。 · "
                       "Please ask in Chinese or English: the list is in Chinese and other scripts may not be understood.")


def other_script(text: str) -> bool:
    """Has letters, but none Chinese or Latin (Uyghur or Kazakh script, Cyrillic, …): the assistant may not
    understand it, so a decline should say which languages to use rather than only "not in the list"."""
    letters = [c for c in text if unicodedata.category(c).startswith("L")]
    return bool(letters) and not any(unicodedata.name(c, "").startswith(("CJK", "LATIN")) for c in letters)


def split_sentences(text: str, min_chars: int = 6) -> list[str]:
    """A message → its sentences (short fragments joined to the one before)."""
    parts: list[str] = []
    for piece in _SENTENCE_END.split(text):
        piece = piece.strip(" ，,")
        if not piece:
            continue
        if parts and len(piece) < min_chars:
            parts[-1] += piece
        else:
            parts.append(piece)
    return parts


_ENGLISH_GAP = re.compile(r"[\s\-]+")  # between the words of an English term: spaces or hyphens


@lru_cache(maxsize=1 << 12)
def _english_words(term: str) -> tuple[str, ...]:
    """An English term's lower-case words (split at spaces and hyphens); () for a Chinese term. Remembered: every
    question is matched against every lexicon term."""
    return () if _HAN.search(term) else tuple(_ENGLISH_GAP.split(term.lower().strip()))


def _occurrences(term: str, text: str, lower: str) -> list[tuple[int, int]]:
    """Where an everyday term occurs in `text` (`lower` is `text.lower()`): Chinese by substring, English by word
    (a plural s/es allowed; a hyphen and a space are the same: old-age allowance is old age allowance)."""
    words = _english_words(term)
    if not words:
        return [(m.start(), m.end()) for m in re.finditer(re.escape(term), text)] if term in text else []
    if words[0] not in lower or not all(w in lower for w in words[1:]):  # cheap test before the regular expression
        return []
    pattern = r"(?<![a-z])" + _ENGLISH_GAP.pattern.join(re.escape(w) for w in words) + r"(?:s|es)?(?![a-z])"
    return [(m.start(), m.end()) for m in re.finditer(pattern, lower)]


def lexicon_pairs(text: str, lexicon: list[LexiconEntry], cuts=None) -> list[tuple[str, str]]:
    """(everyday term, official term) for every everyday term found in `text` (Chinese by substring, English by
    word), in lexicon order. `cuts`: where a word segmenter cuts `text` (`word_cuts`), or a function giving them;
    with them, a Chinese term read only across another term's word is left out (`whole_words`)."""
    return [(entry.everyday, official) for entry in found_entries(text, lexicon, cuts) for official in entry.official]


def found_entries(text: str, lexicon: list[LexiconEntry], cuts=None) -> list[LexiconEntry]:
    """The lexicon entries whose everyday term occurs in `text`, in lexicon order (see `lexicon_pairs`)."""
    lower = text.lower()
    found = [(entry, spans) for entry in lexicon if (spans := _occurrences(entry.everyday, text, lower))]
    if cuts is not None and len(found) > 1:
        found = whole_words(found, cuts)
    return [entry for entry, _ in found]


def whole_words(found: list[tuple[LexiconEntry, list[tuple[int, int]]]], cuts):
    """`found` (entry, its spans in the text) less the Chinese spans that are only the overlap of two words: where
    two terms overlap in part, the one the segmenter's cuts (`cuts`, or a function giving them, called only when two
    terms do overlap in part) do not bound is dropped when the other is bounded and at least as long — 修路灯 is 修 +
    路灯 (a street lamp), not 修路 (building roads); 领养老金 is 领 + 养老金 (drawing a pension), not 领养 (adopting). A
    longer term read across a cut stays (娃娃不上学 keeps 娃不上学 beside 娃娃), as do terms one inside the other (流浪狗
    and 狗) and terms neither or both bounded. An entry stays while any of its spans does."""
    han = [span for entry, spans in found if _HAN.search(entry.everyday) for span in spans]
    overlaps = [(a, b) for a in han for b in han if a[0] < b[0] < a[1] < b[1]]
    if not overlaps:
        return found
    cuts = cuts() if callable(cuts) else cuts

    def bounded(span):
        return span[0] in cuts and span[1] in cuts

    split = {one for pair in overlaps for one, other in (pair, pair[::-1])
             if not bounded(one) and bounded(other) and other[1] - other[0] >= one[1] - one[0]}
    kept = []
    for entry, spans in found:
        left = [span for span in spans if span not in split] if _HAN.search(entry.everyday) else spans
        if left:
            kept.append((entry, left))
    return kept


def lexicon_matches(text: str, lexicon: list[LexiconEntry]) -> list[str]:
    """Official terms for every everyday term found in `text`, each once."""
    return list(dict.fromkeys(official for _, official in lexicon_pairs(text, lexicon)))


def _substituted(text: str, found) -> str:
    """`text` with each (start, end, replacement) of `found` applied, in the order given, skipping any that
    overlaps one already taken (callers give the longest first)."""
    spans: list[tuple[int, int, str]] = []
    for start, end, replacement in found:
        if all(end <= s or start >= e for s, e, _ in spans):
            spans.append((start, end, replacement))
    for start, end, replacement in sorted(spans, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def rewritten(text: str, lexicon: list[LexiconEntry]) -> str:
    """`text` with each everyday term the lexicon knows replaced by the list's word for it (its first official
    term): 新农合在哪交 → 基本医疗保险在哪交. Longest terms first, never inside a replacement; English terms by
    word. The embedding model reads the list's word where it does not know a popular or outdated name.
    Returns `text` unchanged when no term is found."""
    lower = text.lower()
    entries = sorted((e for e in lexicon if e.official), key=lambda e: -len(e.everyday))
    return _substituted(text, ((start, end, entry.official[0]) for entry in entries
                               for start, end in _occurrences(entry.everyday, text, lower)))


def corrected(text: str, pairs: list[tuple[str, str]]) -> str:
    """`text` with each misspelt chunk of `pairs` (PinyinMatcher.correction_pairs) replaced by the list's word:
    宅鸡地审批找谁 → 宅基地审批找谁. Longest chunks first, never inside a replacement."""
    return _substituted(text, ((m.start(), m.end(), word) for chunk, word in sorted(pairs, key=lambda p: -len(p[0]))
                               for m in re.finditer(re.escape(chunk), text)))


def _overlaps(begin: int, end: int, spans) -> bool:
    """Whether the characters begin…end share one with any (start, end) of `spans`."""
    return any(start < end and begin < stop for start, stop in spans)


@lru_cache(maxsize=1 << 16)
def _sound(word: str) -> str:
    """A word's pinyin, remembered: a question tries every 2–4 character chunk, a message's matters the same
    chunks again (pinyin was a fifth of a message's time apart from encoding)."""
    from pypinyin import lazy_pinyin

    return " ".join(lazy_pinyin(word))


@lru_cache(maxsize=1 << 16)
def _near_sound(word: str) -> str:
    """A word's pinyin with the front and back nasals merged (in/ing, en/eng, an/ang): 高林补贴 and 高龄补贴, 养老经
    and 养老金 sound alike in much of the north-west, and every Chinese input method offers the merger as fuzzy
    pinyin."""
    return re.sub(r"(?<!o)ng\b", "n", _sound(word))


NEAR_SOUND_MIN = 3  # the shortest list word a chunk may match by its near sound (PinyinMatcher)


class PinyinMatcher:
    """Maps a misspelt or homophone word (低宝, 宅鸡地, 婚因) to the list's word with the same pinyin.

    Args:
        vocabulary: the list's own words (2-4 characters); only these can be suggested.
        known: words that are fine as they are (the vocabulary plus a general dictionary), never "corrected".
    """

    def __init__(self, vocabulary: set[str], known: set[str] | None = None):
        self.known = set(vocabulary) | (known or set())
        self.by_sound: dict[str, list[str]] = {}
        # words of three or four characters by their sound with the nasals merged (_near_sound): a chunk of that
        # length that sounds like one of them only so is read as it (养老经 → 养老金). Not two-character words: their
        # near sounds are too many other words (微信 → 微型, 来建 → 来疆, 在乡 → 在线)
        self.by_near_sound: dict[str, list[str]] = {}
        for word in sorted(vocabulary):
            if 2 <= len(word) <= 4 and _HAN_WORD.fullmatch(word):
                self.by_sound.setdefault(self.sound(word), []).append(word)
                if len(word) >= NEAR_SOUND_MIN:
                    self.by_near_sound.setdefault(_near_sound(word), []).append(word)

    @staticmethod
    def sound(word: str) -> str:
        return _sound(word)

    def corrections(self, text: str, cuts: set[int] | None = None) -> list[str]:
        """The list's words that misspelt chunks of `text` stand for (see `correction_pairs`)."""
        return [word for _, word in self.correction_pairs(text, cuts)]

    def correction_pairs(self, text: str, cuts: set[int] | None = None, made_up: Sequence[tuple[int, int]] = (),
                         fluency: Callable[[str], float] | None = None, gain: float = 6.0) -> list[tuple[str, str]]:
        """(misspelt chunk of `text`, the list's word it stands for), each list word once.

        A chunk must start and end on word boundaries (`cuts`, character offsets; e.g. from jieba), must not
        itself be a known word, and must share a character with the word it is mapped to: a typo changes a
        character or two, it does not replace the whole word (事有 is not 石油).

        A typo also misleads the word cutter: 打疫描找谁 is cut 打疫|描找, so 疫描 lies across a boundary. Such a chunk
        is tried only where it overlaps a word the cutter made up (`made_up`: spans of words no dictionary holds)
        and only when the corrected text reads better by `gain` in `fluency` (a log-likelihood of a text: jieba's
        best cut by word frequencies): 打疫苗找谁 reads far better (+13), while 有个村民 → 有各村民 (−1) or 粪水直接 →
        粪水质接 (−3) read worse and are left alone. Such a chunk never overlaps one already found (宅鸡地, then not 鸡地).
        """
        found: list[tuple[str, str]] = []
        taken: list[tuple[int, int]] = []
        base: list[float] = []  # fluency of `text`, once needed

        def reads_better(begin: int, end: int, word: str) -> bool:
            base[:] = base or [fluency(text)]
            return fluency(text[:begin] + word + text[end:]) - base[0] >= gain

        for match in HAN_WORD.finditer(text):
            run, offset = match.group(), match.start()
            for size in (4, 3, 2):
                for start in range(0, len(run) - size + 1):
                    begin, end = offset + start, offset + start + size
                    aligned = cuts is None or (begin in cuts and end in cuts)
                    if not aligned and (fluency is None or not _overlaps(begin, end, made_up) or
                                        _overlaps(begin, end, taken)):
                        continue
                    chunk = run[start:start + size]
                    if chunk in self.known:
                        continue
                    words = self.by_sound.get(self.sound(chunk)) or (
                        self.by_near_sound.get(_near_sound(chunk), []) if size >= NEAR_SOUND_MIN else [])
                    for word in words:
                        if (word != chunk and set(word) & set(chunk) and word not in text
                                and all(word != w for _, w in found)
                                and (aligned or reads_better(begin, end, word))):
                            found.append((chunk, word))
                            taken.append((begin, end))
        return found
