"""Which language a question is in when it is neither Chinese nor English, and Kazakh in Arabic script as Cyrillic.

奇台县 front desks hear Uyghur (written in Arabic script) and Kazakh (in Xinjiang written in the Arabic-based
töte jazuw; in Kazakhstan and on many phones in Cyrillic), sometimes Russian. Telling them apart needs only
their letters:

- Uyghur's Arabic alphabet (UEY) writes every vowel and has letters Kazakh's lacks: ې (e), ۈ (ü), and ئ
  (hamza seat) before every word-initial vowel.
- Kazakh's Arabic alphabet marks a front-vowel word with a high hamza ٴ (U+0674) at its start and writes ғ as
  ع and х as ح; it never uses ئ.
- Cyrillic Kazakh has nine letters Russian lacks: ә ғ қ ң ө ұ ү һ і.

Pure functions, no model: `language()` is cheap enough to run on every question.
"""

from __future__ import annotations

import re
import unicodedata

_ARABIC = re.compile(r"[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_UYGHUR_ONLY = set("ېۈئخغژ")  # e, ü, hamza seat, x, ğ, zh: Uyghur letters Kazakh töte does not use
_KAZAKH_ARABIC_ONLY = set("\u0674عح")  # high hamza, ғ, х: Kazakh töte; Uyghur writes ğ as غ and x as خ
# Uyghur puts ئ before every word-initial vowel; Kazakh writes the vowel bare. Kazakh infinitives end in -ۋ (алу).
_BARE_VOWEL_START = re.compile(r"(?<![\u0600-\u06ff\u0674])[اەوۇى]")
_INFINITIVE = re.compile(r"[بپتجچدرزسشعفقكگلمنڭھ]ۋ(?![\u0600-\u06ff])")
_KAZAKH_CYRILLIC_ONLY = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")

LANGUAGES = ("ug", "kk", "kk-Arab", "ru")  # what `language` can tell, besides None (Chinese, English, other)


def language(text: str) -> str | None:
    """The question's language when it is written in Arabic or Cyrillic letters, else None.

    Returns:
        "ug" (Uyghur, Arabic script), "kk-Arab" (Kazakh, Arabic script), "kk" (Kazakh, Cyrillic), "ru" (Russian),
        or None when most letters are Latin, when it holds a Chinese word (two Han characters or more), or when
        it has no letters.
    """
    letters = [c for c in text if unicodedata.category(c).startswith("L") or c == "\u0674"]
    if not letters or len(_HAN.findall(text)) >= 2:  # a Chinese word in it: the default model reads that
        return None
    arabic = sum(1 for c in letters if _ARABIC.match(c))
    cyrillic = sum(1 for c in letters if _CYRILLIC.match(c))
    if max(arabic, cyrillic) * 2 < len(letters):  # mostly Chinese or Latin: not this module's business
        return None
    if arabic >= cyrillic:
        uyghur, kazakh = arabic_evidence(normalise_arabic(text))
        return "kk-Arab" if kazakh > uyghur else "ug"
    return "kk" if any(c in _KAZAKH_CYRILLIC_ONLY for c in text) else "ru"


# Letters keyboards type for the same Uyghur/Kazakh letter: Persian keheh and yeh, Arabic heh (NFKC has already
# folded presentation forms).
_ARABIC_VARIANTS = str.maketrans({"\u06a9": "ك", "\u06cc": "ى", "\u0647": "ە"})


def normalise_arabic(text: str) -> str:
    """One code point per Uyghur/Kazakh letter: ک → ك, ی → ى, ه → ە (what Persian and Arabic keyboards type)."""
    return text.translate(_ARABIC_VARIANTS)


def arabic_evidence(text: str) -> tuple[int, int]:
    """(Uyghur, Kazakh) letter and spelling cues of an Arabic-script text (see the module docstring)."""
    uyghur = sum(1 for c in text if c in _UYGHUR_ONLY)
    kazakh = (sum(1 for c in text if c in _KAZAKH_ARABIC_ONLY) + len(_BARE_VOWEL_START.findall(text))
              + len(_INFINITIVE.findall(text)))
    return uyghur, kazakh


# Kazakh töte → Cyrillic. A word is front-vowelled when it carries the high hamza or contains ە, ك or گ (which
# occur only in front words); its ambiguous vowel letters are then read as front vowels. ا is read ә only under
# an explicit hamza: loanwords (карантин, банк) put а beside к, and the rules of the script mark ә no other way.
_CONSONANTS = {
    "ب": "б", "ۆ": "в", "گ": "г", "ع": "ғ", "د": "д", "ج": "ж", "ز": "з", "ك": "к", "ق": "қ", "ل": "л",
    "م": "м", "ن": "н", "ڭ": "ң", "پ": "п", "ر": "р", "س": "с", "ت": "т", "ۋ": "у", "ف": "ф", "ح": "х",
    "ھ": "һ", "چ": "ч", "ش": "ш", "ە": "е",
}
_VOWELS_BACK = {"ا": "а", "و": "о", "ۇ": "ұ", "ى": "ы"}
_VOWELS_FRONT = {"ا": "а", "و": "ө", "ۇ": "ү", "ى": "і"}
_VOWEL_LETTERS = set("اوۇىەي")
_WORD = re.compile(r"[\u0600-\u06ff\u0674]+")
_PUNCTUATION = str.maketrans({"؟": "?", "،": ",", "؛": ";"})


def kazakh_to_cyrillic(text: str) -> str:
    """Kazakh in Arabic script (töte jazuw) → Cyrillic, word by word; other characters are kept.

    ي is и after a consonant or at the start, й after a vowel (ٴۇي → үй, قيىن → қиын).
    """

    def word(match: re.Match) -> str:
        w = match.group()
        hamza = "\u0674" in w
        front = hamza or any(c in w for c in "ەكگ")
        vowels = _VOWELS_FRONT if front else _VOWELS_BACK
        out = []
        letters = w.replace("\u0674", "")
        for i, c in enumerate(letters):
            if c == "ا" and hamza:
                out.append("ә")
            elif c in vowels:
                out.append(vowels[c])
            elif c == "ي":
                out.append("й" if i and letters[i - 1] in _VOWEL_LETTERS else "и")
            else:
                out.append(_CONSONANTS.get(c, c))
        return "".join(out)

    return _WORD.sub(word, text).translate(_PUNCTUATION)
