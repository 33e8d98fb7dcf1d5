"""The encoder's question memo (no real model: a stand-in that counts what it encodes)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.search.encode import Encoder


class CountingModel:
    prompts = {"query": "q: ", "document": "d: "}

    def __init__(self):
        self.encoded: list[str] = []

    def get_sentence_embedding_dimension(self) -> int:
        return 4

    def encode(self, texts, prompt="", **kwargs):
        self.encoded.extend(texts)
        return np.array([[len(t), 1.0, 0.0, float(i)] for i, t in enumerate(texts)], dtype=np.float32)


def test_repeated_questions_are_encoded_once():
    model = CountingModel()
    encoder = Encoder(model, "stand-in", memo=4096)
    first = encoder.queries(["谁管流浪狗", "低保"])
    again = encoder.queries(["低保", "谁管流浪狗"])
    assert model.encoded == ["谁管流浪狗", "低保"]
    assert np.allclose(first[0], again[1]) and np.allclose(np.linalg.norm(again, axis=1), 1.0)


def test_the_memo_can_be_turned_off():
    model = CountingModel()
    encoder = Encoder(model, "stand-in", memo=0)
    encoder.queries(["谁管流浪狗"])
    vectors = encoder.queries(["谁管流浪狗", "谁管流浪狗"])
    assert model.encoded == ["谁管流浪狗", "谁管流浪狗"] and vectors.shape == (2, 4)


def test_the_memo_keeps_only_the_most_recent():
    model = CountingModel()
    encoder = Encoder(model, "stand-in", memo=2)
    for text in ("a1", "b2", "c3", "a1"):
        encoder.queries([text])
    assert model.encoded == ["a1", "b2", "c3", "a1"] and len(encoder._recent) == 2


def test_a_memo_size_that_is_not_a_number_is_a_clear_error():
    from assistant.errors import SettingsError
    from assistant.settings import Settings

    with pytest.raises(SettingsError, match="DUTY_ASSISTANT_QUESTION_MEMO must be a whole number"):
        Settings.from_env({"DUTY_ASSISTANT_QUESTION_MEMO": "lots"})
    assert Settings.from_env({"DUTY_ASSISTANT_QUESTION_MEMO": "7"}).question_memo == 7


def test_the_memo_is_safe_to_share_between_threads():
    """The server answers from several worker threads with one encoder: hammer its memo from threads."""
    import sys
    import threading

    encoder = Encoder(CountingModel(), "stand-in", memo=3)
    errors = []

    def ask(seed):
        try:
            for i in range(400):
                texts = [f"q{(seed * 7 + i) % 11}", f"q{(seed + i) % 5}"]
                assert encoder.queries(texts).shape == (2, 4)
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, so races show
    try:
        threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == [] and len(encoder._recent) <= 3
