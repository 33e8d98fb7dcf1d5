"""Fine-tuning on the similar questions: the pure parts (pairs, batches, recipe) without training."""

from __future__ import annotations

from collections import Counter

import pytest

from assistant.data import store
from assistant.models import tune
from assistant.data.units import duty_text


@pytest.fixture(scope="module")
def data():
    duties = store.load_duties()
    similar = store.load_similar_questions(known_ids={d.id for d in duties})
    return duties, store.load_registry(), similar


def test_every_similar_question_becomes_one_pair_with_its_duty_text(data):
    duties, registry, similar = data
    pairs = tune.training_pairs(duties, registry, similar)
    assert len(pairs) == sum(len(q) for q in similar.values())
    by_id = {d.id: d for d in duties}
    for pair in pairs[:: max(1, len(pairs) // 50)]:
        assert pair.question in similar[pair.duty_id]
        assert pair.duty_text == duty_text(by_id[pair.duty_id], registry)


def test_questions_of_unknown_duties_are_skipped(data):
    duties, registry, _ = data
    pairs = tune.training_pairs(duties, registry, {"no-such-duty": ["谁管这个"], duties[0].id: ["谁管那个"]})
    assert [(p.question, p.duty_id) for p in pairs] == [("谁管那个", duties[0].id)]


def _pairs(counts: dict[str, int]) -> list[tune.Pair]:
    return [tune.Pair(f"{duty} q{i}", duty, f"text of {duty}") for duty, n in counts.items() for i in range(n)]


def test_no_batch_holds_two_questions_of_one_duty():
    pairs = _pairs({f"d{i}": 1 + i % 7 for i in range(60)})
    batches = tune.batches(pairs, 8, seed=1)
    for batch in batches:
        assert len({p.duty_id for p in batch}) == len(batch) and 2 <= len(batch) <= 8
    used = Counter(p for batch in batches for p in batch)
    assert max(used.values()) == 1
    assert len(used) >= len(pairs) - 8  # only a leftover batch of one can be dropped


def test_batches_are_deterministic_per_seed():
    pairs = _pairs({f"d{i}": 3 for i in range(20)})
    assert tune.batches(pairs, 4, seed=5) == tune.batches(pairs, 4, seed=5)
    assert tune.batches(pairs, 4, seed=5) != tune.batches(pairs, 4, seed=6)


def test_one_duty_only_gives_no_batch_and_a_batch_of_one_is_refused():
    assert tune.batches(_pairs({"d1": 5}), 4, seed=0) == []
    with pytest.raises(ValueError, match="at least 2"):
        tune.batches(_pairs({"d1": 1, "d2": 1}), 1, seed=0)


def test_recipe_changes_with_data_and_settings():
    base = tune.recipe("abc", {"similar_questions.jsonl": "1"}, tune.TuneSettings())
    assert base == tune.recipe("abc", {"similar_questions.jsonl": "1"}, tune.TuneSettings())
    assert base != tune.recipe("abc", {"similar_questions.jsonl": "2"}, tune.TuneSettings())
    assert base != tune.recipe("abc", {"similar_questions.jsonl": "1"}, tune.TuneSettings(epochs=2))
    assert base != tune.recipe("abd", {"similar_questions.jsonl": "1"}, tune.TuneSettings())


def test_a_built_model_is_built_again_when_its_recipe_changes(tmp_path, monkeypatch, capsys):
    """The registry's handling of derived models, with a stand-in builder (no training)."""
    from assistant import cli, models
    from assistant.models import registry
    from assistant.settings import Settings

    monkeypatch.setattr(registry, "current", lambda: Settings(cache=tmp_path))
    monkeypatch.setattr(registry, "prepare_onnx", lambda ref, progress=False: None)
    recipe = {"data": "1"}
    builds = []

    def build(spec, target, progress):
        builds.append(dict(recipe))
        (target / "model.safetensors").write_bytes(b"weights " + recipe["data"].encode())

    spec = models.ModelSpec("stand-in", "a test model", build, base="embeddinggemma-300m", recipe=lambda: dict(recipe))
    monkeypatch.setitem(models.MODELS, "stand-in", spec)
    models.fetch("stand-in", progress=False)
    models.fetch("stand-in", progress=False)
    assert builds == [{"data": "1"}]  # current: not built again
    assert cli.main(["model", "verify", "stand-in"]) == 0
    recipe["data"] = "2"
    assert cli.main(["model", "verify", "stand-in"]) == 1
    assert "model fetch stand-in" in capsys.readouterr().err
    models.fetch("stand-in", progress=False)
    assert builds == [{"data": "1"}, {"data": "2"}]
    mark = models.check_marked(spec.folder)
    assert mark["recipe"] == {"data": "2"} and (spec.folder / "model.safetensors").read_bytes() == b"weights 2"
    assert cli.main(["model", "verify", "stand-in"]) == 0


def test_the_tuned_models_recipe_names_its_base_data_and_settings():
    from assistant import models

    recipe = models.MODELS["embeddinggemma-300m-tuned"].recipe()
    assert recipe["base_weights_sha256"] == models.combined_hash(models.MODELS["embeddinggemma-300m"].hashes)
    assert set(recipe["data"]) >= {"similar_questions.jsonl", "duties.jsonl"}
    assert recipe["settings"]["trained_layers"] == tune.TuneSettings().trained_layers
