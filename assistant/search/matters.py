"""A long citizen message → the matters it raises.

A hotline message (100–300 characters) carries background, complaints, politeness and often two or three
separate matters. It is cut into sentences (sentencex, Wikimedia's rule-based segmenter for ~300 languages),
sentences that are only politeness or announce the matters to come are dropped ("领导您好", "麻烦你们了",
"我是二队的，有三个事"), and so is a sentence that only says who writes ("我是半截沟村种地的，家里种了四十亩麦子。":
it stood as a matter of its own and its nearest duty took one of the first five places; eleventh round, with 领导好
read as a greeting too: capped recall@5 on messages-dev3 0.805 → 0.827, the other dev message sets unchanged). Consecutive sentences are grouped
into matters by what they are about: a sentence joins the matter before it when their best-matching duties
overlap, and a sentence that matches no duty well (other background: "家里就靠我和婆姨种那点地") joins its neighbour
rather than standing alone; a sentence that opens with a word announcing another matter (另外, 还有一个事, 二是) starts
a matter of its own whatever its duties (twenty-sixth round). Each matter is then routed through the same retrieval
and confidence as a question.

Pure functions over texts and score matrices; the encoding and scoring happen in retrieve.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# Sentences (or their starts and ends) that carry no matter: greetings, thanks, pleas for a reply, and the
# announcement of how many matters follow ("反映几个问题", "我是二队的，有三个事"), which otherwise stood as a matter of
# its own and took one of the first five places from a real one.
_POLITENESS = re.compile(
    r"^(尊敬的)?[^，,。！!？?]{0,8}((领导|书记|镇长|同志|工作人员|老师)们?(您|你)?们?|(您|你)们?)好[，,！!。]?"
    r"|(麻烦|劳烦|辛苦)(你们|您|了)+[^。！!？?]{0,10}[。！!]?"
    r"|(谢谢|感谢|多谢)[^。！!？?]{0,12}[。！!]?"
    r"|(盼|望|请)(早日|尽快)?(回复|答复|解决|处理)[^。！!？?]{0,6}[。！!]?"
    r"|急急急+|在线等"
    r"|^[^。！!？?]{0,10}(帮忙|给)?看一(下|哈)[。！!，,]?"
    r"|^[^。！!？?]{0,8}(反映|说|问)(一下)?(个|一个|件|一件)(急事|事情|事|问题|情况)[。！!：:，,]?$"
    r"|^[^。！!？?]{0,12}(反映|说|问|咨询|请教|讲|有)(一下)?[一两二三四五几]+(个|件)(问题|事情|事)[^。！!？?]{0,6}[。！!：:，,]?"
    r"|\b(hello|hi|dear sir or madam|thank you|thanks|many thanks)\b[^.!?]{0,20}[.!]?",
    re.IGNORECASE,
)
# A sentence that only says who writes (我是半截沟村种地的，家里二十几头牛。): background, no request in it
_INTRODUCTION = re.compile(r"^(我|俺|我们|俺们)(是|家是|家在|家住)[^。！？!?]{0,24}[。！!，,]?$")
# A short sentence that only says who writes or whose child it is (我是镇中心学校两个娃娃的妈妈，平时在街上帮厨。,
# 我在镇上开了个小超市。, 我家娃娃在镇小学上四年级。): kept in the message, but background when sentences are grouped
# into matters — as a matter of its own it took one of the first five places (a shop, a school) from a real matter
_WHO_WRITES = re.compile(
    r"^(我|俺)们?(是|家是|家在|家住|在镇上|在街上|在村上|在村里|在县城)[^。！？!?]{0,28}[。！!，,]?$"
    r"|^(我|俺)家的?(娃娃?|孩子|儿子|女儿|丫头|姑娘|小子|老大|老二)[^。！？!?，,]{0,12}(上|读|念)[^。！？!?，,]{0,6}"
    r"(年级|初[一二三]|高[一二三]|小学|中学|幼儿园)[^。！？!?]{0,6}[。！!，,]?$")
# A sentence that opens with a word announcing another matter (另外…, 还有一个事…, 二是…): the writer says a new matter
# starts, even where its words are near the matter before (a market's scales, then the village shop's expired food)
_NEXT_MATTER = re.compile(
    r"^(另外|另一个|另一件|再就是|再一个|再有|再说|其次|其二|二是|三是|第二|第三|还想问|还要问|顺便|也想问|最后"
    r"|还有(一个|个|一件|件|就是)?(事|问题)?(?![人点些的没])[，,]?)")
_ASKS = re.compile(r"咋|怎么|谁|吗|能不能|要不要|哪|啥|什么|[?？]|请|想")
_CONTENT = re.compile(r"[\u4e00-\u9fffA-Za-z]")
_SEGMENTER_LANG = {"zh": "zh", "mixed": "zh", "en": "en"}


def sentences(text: str, lang: str = "zh", min_chars: int = 4) -> list[str]:
    """The message's sentences without politeness; very short leftovers join the sentence before.

    Args:
        text: the cleaned message.
        lang: zh, en or mixed (the segmenter's language).
        min_chars: a piece with fewer letters than this is not a sentence of its own.
    """
    from sentencex import segment

    parts: list[str] = []
    for piece in segment(_SEGMENTER_LANG.get(lang, "zh"), text):
        for _ in range(3):  # a greeting first, then the announcement it hid from `^`
            stripped = _POLITENESS.sub("", piece).strip(" ，,、")
            if stripped == piece:
                break
            piece = stripped
        if _INTRODUCTION.match(piece) and not asks(piece):
            continue
        if len(_CONTENT.findall(piece)) < min_chars:
            if parts and piece:
                parts[-1] += piece
            continue
        parts.append(piece)
    return parts


def who_writes(sentence: str) -> bool:
    """Whether a sentence only says who writes (我在镇上开了个小超市。), asking nothing: background to the matters."""
    return bool(_WHO_WRITES.match(sentence)) and not asks(sentence)


def opens_matter(sentence: str) -> bool:
    """Whether a sentence opens with a word announcing another matter (另外, 还有, 二是)."""
    return bool(_NEXT_MATTER.match(sentence))


def asks(sentence: str) -> bool:
    """Whether a sentence asks something (a question word, a question mark, a plea) rather than only telling."""
    return bool(_ASKS.search(sentence))


def group(duty_scores: np.ndarray, background: float, top: int = 3,
          told: Sequence[bool] = (), opens: Sequence[bool] = ()) -> list[list[int]]:
    """Consecutive sentences → matters.

    Args:
        duty_scores: one row of duty scores per sentence (dense cosine, best unit per duty).
        background: a sentence whose best duty scores below this carries no matter of its own.
        top: how many best duties of two sentences are compared to decide that they are about the same matter.
        told: per sentence, whether it is background whatever it scores (`who_writes`); empty: none is.
        opens: per sentence, whether it announces another matter (`opens_matter`): it starts a matter of its own
            after a matter with content, whatever its duties; empty: none does.
    Returns:
        Matters as lists of sentence indices, in message order; every sentence in exactly one matter.
    """
    n = len(duty_scores)
    if n == 0:
        return []
    tops = [set(np.argsort(-row)[:top].tolist()) for row in duty_scores]
    content = [float(row.max()) >= background and not (told and told[i]) for i, row in enumerate(duty_scores)]
    groups: list[list[int]] = []
    for i in range(n):
        about = [j for j in groups[-1] if content[j]] if groups else []
        announced = bool(opens) and opens[i] and content[i] and bool(about)
        if groups and not announced and (not content[i] or not about
                                         or tops[i] & set().union(*(tops[j] for j in about))):
            # background joins the matter before it; a matter so far only background takes this sentence's
            # matter; a sentence about the same duties continues the matter
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def message_vector(vectors: np.ndarray, lengths: list[int]) -> np.ndarray:
    """The message as one vector: the mean of its sentences' vectors weighted by their length, unit norm. Encoding
    the whole message once more cost a third of a message's time (eval/message-latency.md); on the dev messages the
    mean ranks as well (first duty right 0.944 → 0.944 and 0.95 → 1.00, capped recall@5 0.986 → 0.979 and
    0.906 → 0.920)."""
    weights = np.asarray(lengths, dtype=np.float32)[:, None]
    mean = (vectors * weights).sum(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def fused(orders: list[list[int]], weights: list[float], k: float = 10.0) -> list[int]:
    """Reciprocal rank fusion (Cormack et al. 2009): every ranking adds weight / (k + rank) to each duty it holds;
    duties by the sum, best first. Used to fill a message's first five from its own ranking and its matters'."""
    total: dict[int, float] = {}
    for order, weight in zip(orders, weights):
        for rank, duty in enumerate(order, start=1):
            total[duty] = total.get(duty, 0.0) + weight / (k + rank)
    return sorted(total, key=lambda d: -total[d])


def with_picks(order: list[int], picks: list[int], screen: int = 5) -> list[int]:
    """`order` with each duty of `picks` in the first `screen`: the first duty never changes, the picks (in pick
    order, as many as fit) take the places, the rest of the first `screen` is filled in `order`, and the first
    `screen` keep their order. A pick already in the first `screen` keeps its place (before, a new pick could push
    it out)."""
    if not order or not picks:
        return order
    chosen = [order[0]]
    for duty in dict.fromkeys(picks):
        if duty not in chosen and len(chosen) < screen:
            chosen.append(duty)
    for duty in order:
        if len(chosen) >= screen:
            break
        if duty not in chosen:
            chosen.append(duty)
    place = {d: i for i, d in enumerate(order)}
    head = sorted(chosen, key=lambda d: place.get(d, len(order)))
    kept = set(head)
    return head + [d for d in order if d not in kept]
