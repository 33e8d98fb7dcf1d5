"""The lexical signal: BM25 (bm25s) over jieba tokens of each duty's text.

One document per duty (title, steps, similar questions), so a BM25 score is already a duty score.
"""

from __future__ import annotations

import re

import numpy as np

from assistant.search.segment import HAN_WORD, cutter_or_jieba

_WORD = re.compile(r"[\u4e00-\u9fff]+|[A-Za-z]+|\d+")
# Function words and the question words people wrap around a topic carry no topic.
STOPWORDS = frozenset(
    "的 了 和 与 及 或 是 在 有 我 你 他 她 们 这 那 个 吗 呢 吧 啊 呀 么 什么 怎么 怎么办 怎样 如何 哪 哪里 哪儿 哪个 "
    "谁 谁管 找 找谁 管 归 负责 办 办理 要 想 能 可以 需要 应该 去 到 给 对 把 被 就 都 也 还 又 请问 一下 咨询 问 问题 "
    "村民 老乡 镇上 镇里 本镇 我们 你们 他们 部门 单位 工作 事 事情 the a an of to for and or is are do does who what where "
    "how which i my we our you your in on at with can should about".split()
)


def tokenize(text: str, cutter=None) -> list[str]:
    """jieba search-mode tokens (and lower-cased latin words), without stopwords and punctuation. `cutter`: a jieba
    tokenizer (default: jieba's own)."""
    tokens = []
    for token in cutter_or_jieba(cutter).cut_for_search(text):
        token = token.strip().lower()
        if token and _WORD.fullmatch(token) and token not in STOPWORDS:
            tokens.append(token)
    return tokens


def content_words(text: str, cutter=None) -> list[str]:
    """The Chinese words of `text` that can carry a topic: jieba's words of two or more characters, without
    stopwords."""
    return [w for w in cutter_or_jieba(cutter).cut(text) if HAN_WORD.fullmatch(w) and w not in STOPWORDS]


class LexicalScorer:
    """BM25 over one document per duty.

    Args:
        documents: the text of each duty's document, in duty order.
        cutter: the jieba tokenizer documents and questions are cut with (default: jieba's own).
    """

    cutter = None

    def __init__(self, documents: list[str], cutter=None):
        self.cutter = cutter
        self._index([tokenize(d, cutter) or ["_"] for d in documents])

    @classmethod
    def from_tokens(cls, tokenized: list[list[str]]) -> "LexicalScorer":
        """A scorer over documents already cut into tokens (the Review desk reuses each part's tokens)."""
        scorer = cls.__new__(cls)
        scorer._index(tokenized)
        return scorer

    def _index(self, tokenized: list[list[str]]) -> None:
        import bm25s

        self.retriever = bm25s.BM25()
        self.retriever.index(tokenized, show_progress=False)
        self.size = len(tokenized)
        self.vocabulary = frozenset(t for tokens in tokenized for t in tokens)  # every word the documents use

    def unknown_share(self, text: str, read: set[str] = frozenset()) -> float:
        """Share of the content words of `text` that no document uses (0 when it has none). A word inside one of
        `read` (chunks already read as the list's words: typos, popular names) counts as known."""
        words = content_words(text, self.cutter)
        unknown = [w for w in words if w not in self.vocabulary and not any(w in c or c in w for c in read)]
        return len(unknown) / len(words) if words else 0.0

    def scores(self, text: str) -> np.ndarray:
        """BM25 score of every document for a query (zeros when no token is known)."""
        tokens = tokenize(text, self.cutter)
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)
