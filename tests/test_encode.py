"""The encoder's question memo (no real model: a stand-in that counts what it encodes)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.encode import Encoder


class CountingModel:
    prompts = {"query": "q: ", "document": "d: "}

    def __init__(self):
        self.encoded: list[str] = []

    def get_sentence_embedding_dimension(self) -> int:
        return 4

    def encode(self, texts, prompt="", **kwargs):
        self.encoded.extend(texts)
        return np.array([[len(t), 1.0, 0.0, float(i)] for i, t in enumerate(texts)], dtype=np.float32)


def test_repeated_questions_are_encoded_once(monkeypatch):
    monkeypatch.delenv("DUTY_ASSISTANT_QUESTION_MEMO", raising=False)
    model = CountingModel()
    encoder = Encoder(model, "stand-in")
    first = encoder.queries(["谁管流浪狗", "低保"])
    again = encoder.queries(["低保", "谁管流浪狗"])
    assert model.encoded == ["谁管流浪狗", "低保"]
    assert np.allclose(first[0], again[1]) and np.allclose(np.linalg.norm(again, axis=1), 1.0)


def test_the_memo_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("DUTY_ASSISTANT_QUESTION_MEMO", "0")
    model = CountingModel()
    encoder = Encoder(model, "stand-in")
    encoder.queries(["谁管流浪狗"])
    vectors = encoder.queries(["谁管流浪狗", "谁管流浪狗"])
    assert model.encoded == ["谁管流浪狗", "谁管流浪狗"] and vectors.shape == (2, 4)


def test_the_memo_keeps_only_the_most_recent(monkeypatch):
    monkeypatch.setenv("DUTY_ASSISTANT_QUESTION_MEMO", "2")
    model = CountingModel()
    encoder = Encoder(model, "stand-in")
    for text in ("a1", "b2", "c3", "a1"):
        encoder.queries([text])
    assert model.encoded == ["a1", "b2", "c3", "a1"] and len(encoder._recent) == 2


def test_a_memo_size_that_is_not_a_number_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DUTY_ASSISTANT_QUESTION_MEMO", "lots")
    with pytest.raises(ValueError, match="DUTY_ASSISTANT_QUESTION_MEMO must be a whole number"):
        Encoder(CountingModel(), "stand-in")
