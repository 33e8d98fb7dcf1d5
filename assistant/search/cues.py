"""Hand-kept question cues and the everyday-words lexicon: their types, matching, and reading their files.

- data/lexicon.tsv: everyday words ↔ the list's words, each with its source;
- data/question_cues.json: which list a question asks about, facts no list holds (amounts, phone numbers,
  opening hours), matters no list holds (registrations, certificates …) with a hint of where people ask.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from assistant.errors import DataError
from assistant.settings import current

@dataclass(frozen=True)
class LexiconEntry:
    everyday: str
    official: tuple[str, ...]
    source: str = ""


@lru_cache(maxsize=1 << 12)
def _guarded(guard: re.Pattern, text: str) -> bool:
    """Whether `text` matches a guard; remembered, since one question is tried against every cue of a group."""
    return guard.match(text) is not None


@dataclass(frozen=True)
class Cue:
    """One hand-kept pattern. With a guard (data/question_cues.json "unless" / "guarded") it leaves alone a text the
    guard matches from its start: a fact cue and a question that also asks who handles the matter."""

    regex: re.Pattern
    guard: re.Pattern | None = None

    @property
    def pattern(self) -> str:
        return self.regex.pattern

    def search(self, text: str) -> re.Match | None:
        return None if self.guard is not None and _guarded(self.guard, text) else self.regex.search(text)

    def match(self, text: str) -> re.Match | None:
        return None if self.guard is not None and _guarded(self.guard, text) else self.regex.match(text)

    def finditer(self, text: str) -> list[re.Match]:
        return [] if self.guard is not None and _guarded(self.guard, text) else list(self.regex.finditer(text))


@dataclass(frozen=True)
class QuestionCues:
    """Hand-kept patterns (data/question_cues.json): which list a question asks about, and facts no list holds."""

    list_intent: dict[str, tuple[Cue, ...]] = field(default_factory=dict)
    unanswerable: tuple[Cue, ...] = ()
    # (cue, hint in Chinese, hint in English); a cue may have a guard: 离婚 is a registration no list holds, but a
    # couple's quarrel brought for mediation (吵着要离婚，村上能给调解不) is the mediation duty's
    unlisted_matters: tuple[tuple[Cue, str, str], ...] = ()
    from_dev: tuple[bool, ...] = ()  # per unlisted matter: written after reading dev questions (see for_calibration)
    asks_fact: tuple[Cue, ...] = ()  # interrogatives of amount and time (多少, 啥时候): broader than unanswerable
    relay: tuple[Cue, ...] = ()  # the frame of a relayed question at its start (群众来问：, 窗口来了个大爷，说)
    # questions no list could answer by their kind: a weather forecast, where to buy a thing, an opinion or advice,
    # whether a call or a text is genuine
    asks_other: tuple[Cue, ...] = ()
    # per unanswerable / asks_other cue: written after reading dev questions (thirteenth round on; see for_calibration)
    unanswerable_from_dev: tuple[bool, ...] = ()
    other_from_dev: tuple[bool, ...] = ()
    # a question that asks which of the town and a county body handles a matter (镇上管还是水利局管, the town or the
    # county bureau?): the body it names is one of the two it asks between, not a word about the matter
    asks_town_or_body: tuple[Cue, ...] = ()

    @classmethod
    def from_json(cls, data: dict) -> "QuestionCues":
        # a cue is a pattern, or an object: {"pattern": …, "from_dev": true} for one written after reading dev
        # questions; {"pattern": …, "unless": name} for one that must not fire when the question matches the named
        # guard of "guards" (English fact and advice cues leave a question that also asks who, where or how alone)
        # "guarded": {group: guard name(s)} gives every cue of a group that names no guard of its own that guard (the
        # fact cues leave a question that also asks who handles it or how to apply alone, in Chinese or in English)
        # a guard may be one name or a list of names (the cue is left alone when any of them matches); a guard of
        # "guards" that is itself a list of names is a set of guards, written once for the cues that share it
        guard_texts = data.get("guards", {})
        guarded = data.get("guarded", {})
        compiled: dict[tuple[str, ...], re.Pattern] = {}  # one pattern per guard or list of guards

        def named(unless: str | list[str]) -> tuple[str, ...]:
            names = (unless,) if isinstance(unless, str) else tuple(unless)
            return tuple(part for name in names
                         for part in (named(guard_texts[name]) if isinstance(guard_texts[name], list) else (name,)))

        def guard(unless: str | list[str]) -> re.Pattern:
            names = named(unless)
            if names not in compiled:
                compiled[names] = re.compile("|".join(f"(?:{guard_texts[name]})" for name in names), re.I)
            return compiled[names]

        def cue(item, group: str) -> Cue:
            text = item["pattern"] if isinstance(item, dict) else item
            unless = (item.get("unless") if isinstance(item, dict) else None) or guarded.get(group)
            return Cue(re.compile(text, re.I), guard(unless) if unless else None)

        compile_ = lambda group: tuple(cue(p, group) for p in data.get(group, []))
        dev = lambda items: tuple(isinstance(p, dict) and bool(p.get("from_dev")) for p in items)
        entries = data.get("unlisted_matters", [])
        matters = tuple((cue(m, "unlisted_matters"), m.get("hint", ""), m.get("hint_en", "")) for m in entries)
        unanswerable, other = data.get("unanswerable", []), data.get("asks_other", [])
        intents = {k: tuple(cue(p, k) for p in v) for k, v in data.get("list_intent", {}).items()}
        return cls(intents, compile_("unanswerable"), matters, dev(entries), compile_("asks_fact"), compile_("relay"),
                   compile_("asks_other"), dev(unanswerable), dev(other), compile_("asks_town_or_body"))

    def for_calibration(self) -> "QuestionCues":
        """These cues without those written from dev questions (unlisted matters; since the thirteenth round also
        facts and kinds of question): the confidence models are fitted on dev questions, and a cue written to catch
        some of them would make them look easier than questions no cue was written for (the thresholds came out too
        lenient: the thirteenth round's fact and advice cues, fitted with, lowered the answer threshold 0.80 ->
        0.77, and fresh question sets showed more certain answers wrong)."""
        matters = _kept(self.unlisted_matters, self.from_dev)
        unanswerable = _kept(self.unanswerable, self.unanswerable_from_dev)
        other = _kept(self.asks_other, self.other_from_dev)
        return replace(self, unlisted_matters=matters, from_dev=(False,) * len(matters), unanswerable=unanswerable,
                       unanswerable_from_dev=(False,) * len(unanswerable), asks_other=other,
                       other_from_dev=(False,) * len(other))

    def lists(self, text: str) -> list[str]:
        return [kind for kind, patterns in self.list_intent.items() if any(p.search(text) for p in patterns)]

    def relay_frame(self, text: str, rest: int = 4) -> str:
        """The frame of a relayed question at the start of `text` (群众来问：, 窗口来了个大爷，说, @所有人 帮我妈问下), or "":
        who passes the question on, not what it asks. Frames in a row are one frame; at least `rest` characters
        must remain (老人说腿疼 keeps its words)."""
        taken = 0
        while True:
            m = next((m for m in (p.match(text[taken:]) for p in self.relay) if m and m.end() > 0), None)
            if m is None or len(text) - taken - m.end() < rest:
                return text[:taken]
            taken += m.end()

    def unlisted_matter(self, text: str) -> tuple[str, str, str]:
        """(the words, hint zh, hint en) of the first matter no list holds that `text` names, or empty strings."""
        for pattern, hint, hint_en in self.unlisted_matters:
            for m in pattern.finditer(text):
                if not _HAD.match(text, m.end()):
                    return m.group(), hint, hint_en
        return "", "", ""

    def any_unlisted(self, text: str) -> bool:
        """Any cue of a fact or a matter no list holds in `text` (unlisted_fact, fact_question, other_question,
        unlisted_matter)."""
        return bool(self.unlisted_fact(text) or self.fact_question(text) or self.other_question(text)
                    or self.unlisted_matter(text)[0])

    def unlisted_fact(self, text: str) -> str:
        """The words of a precise cue of a fact no list holds (a phone number, opening hours), or ""."""
        return _first(self.unanswerable, text, _told_amounts_hidden(text))

    def fact_question(self, text: str) -> str:
        """The words asking how much or when (多少, 啥时候, 周几 …), or "": broader than `unlisted_fact`, since people
        also ask when a listed campaign comes round; a confidence feature of its own."""
        return _first(self.asks_fact, text, _told_amounts_hidden(text))

    def town_or_body(self, text: str) -> str:
        """The words if `text` asks which of the town and a county body handles the matter (镇上收还是水利局收,
        兽医站还是镇上, the town or the county bureau?), or ""."""
        return _first(self.asks_town_or_body, text)

    def other_question(self, text: str) -> str:
        """The words of a question no list could answer by its kind (a weather forecast: 明天下不下雨; where to buy a
        thing or have it repaired: 哪有卖的, 有修电视的没; an opinion or advice: 你觉得…, 态度差得很, 你说值不值得; whether
        a call or a text is genuine: 短信说…是真的吗), or "": a confidence feature of its own, like `fact_question`."""
        return _first(self.asks_other, text)


def _kept(items: tuple, from_dev: tuple[bool, ...]) -> tuple:
    """The items not marked as written from dev questions (no marks: all of them)."""
    return tuple(item for item, dev in zip(items, from_dev or (False,) * len(items)) if not dev)


# 多少 after a negation is told, not asked: 一年也没多少收入 (*not much* income), 挣不了多少 (nineteenth round)
_TOLD_AMOUNT = re.compile("(?:(?<=没)|(?<=没有)|(?<=不了)|(?<=莫得)|(?<=没得))多少")


# a paper or registration already in hand is told, not asked: 出生证拿上了，娃娃上户口去哪办 asks the settling of a
# hukou (coop-35), not the birth certificate (twenty-sixth round, seen in the held-out citizen21); 开了吗 / 办了没 ask
_HAD = re.compile(r"[^，,。？?！!\s不没莫未]{0,3}?(?:已经|早就|都)?(?:拿上|拿到|办好|开好|领到|拿了|开了|办了|领了|有了)了?"
                  r"(?![吗嘛么没不吧]|[^，,。？?！!\s]{0,2}[吗嘛么没？?])")


def _told_amounts_hidden(text: str) -> str:
    """`text` with each told 多少 blanked (same length), so that no fact cue reads it as an amount asked."""
    return _TOLD_AMOUNT.sub("□□", text)


def _first(patterns: tuple[Cue, ...], text: str, read: str | None = None) -> str:
    """The words of `text` the first matching pattern finds; `read`: the text the patterns are matched against, when
    it differs from `text` in what it blanks but not in length."""
    read = text if read is None else read
    for pattern in patterns:
        m = pattern.search(read)
        if m:
            return text[m.start():m.end()]
    return ""


def load_lexicon(path: Path | None = None) -> list[LexiconEntry]:
    """data/lexicon.tsv (everyday<TAB>official[|official…]<TAB>source) → lexicon entries."""
    path = path or current().lexicon
    if not path.exists():
        return []
    entries = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            if number == 1 or not line.strip() or line.startswith("#"):
                continue
            cells = line.split("\t")
            if len(cells) < 2 or not cells[0].strip() or not cells[1].strip():
                raise DataError(f"{path}:{number}: expected `everyday<TAB>official<TAB>source`, got {line[:60]!r}")
            official = tuple(t.strip() for t in cells[1].split("|") if t.strip())
            entries.append(LexiconEntry(cells[0].strip(), official, cells[2].strip() if len(cells) > 2 else ""))
    return entries

def load_question_cues(path: Path | None = None) -> QuestionCues:
    """data/question_cues.json → QuestionCues (empty when the file is absent)."""
    path = path or current().question_cues
    if not path.exists():
        return QuestionCues()
    try:
        return QuestionCues.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, re.error, KeyError, TypeError, RecursionError) as err:
        # KeyError / TypeError: a cue object without its "pattern", a guard not in "guards", or a pattern that is not
        # a string; RecursionError: a set of guards that names itself
        raise DataError(f"{path}: not valid ({type(err).__name__}: {err}); fix the file by hand or restore it with "
                        "git") from None
