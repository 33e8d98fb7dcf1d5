"""Fine-tune the embedding model on the similar questions (相似问), on the CPU, reproducibly.

Each similar question is paired with the whole-duty text it belongs to (`units.duty_text`) and trained with
in-batch negatives (sentence-transformers' MultipleNegativesRankingLoss): within a batch every other duty's
text is a negative, so batches hold distinct duties. Only the top transformer layers and the dense head are
trained (the token embeddings — two thirds of the weights — and the lower layers stay frozen), which makes one
pass over ~2,100 pairs fit in a quarter of an hour on two cores.

The recipe (base weights, training data, hyper-parameters) is recorded in the tuned model's verified mark;
`duty-assistant model fetch embeddinggemma-300m-tuned` rebuilds the model when the recipe changes.

Pure helpers (`training_pairs`, `batches`, `recipe`) are separate from the training loop (`train`).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from assistant.data.departments import Registry
from assistant.domain import Duty
from assistant.data.units import duty_text


@dataclass(frozen=True)
class TuneSettings:
    """Hyper-parameters of one tuning run (all recorded in the tuned model's mark)."""

    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 2e-5
    trained_layers: int = 8  # top transformer layers that learn; the rest (and the token embeddings) stay frozen
    warmup_share: float = 0.1
    scale: float = 20.0  # MultipleNegativesRankingLoss temperature (its default)
    seed: int = 13
    threads: int = 2


@dataclass(frozen=True)
class Pair:
    """One training example: a similar question and the text of the duty it asks about."""

    question: str
    duty_id: str
    duty_text: str


def training_pairs(duties: list[Duty], registry: Registry | None, similar: dict[str, list[str]]) -> list[Pair]:
    """Every similar question paired with its duty's whole-duty unit text, in data order."""
    by_id = {duty.id: duty for duty in duties}
    pairs = []
    for duty_id, questions in similar.items():
        if duty_id not in by_id:
            continue
        text = duty_text(by_id[duty_id], registry)
        pairs.extend(Pair(q, duty_id, text) for q in questions)
    return pairs


def batches(pairs: list[Pair], size: int, seed: int) -> list[list[Pair]]:
    """Shuffle, then fill batches so that no batch holds two questions of one duty (the other duties' texts are
    the negatives; a second question of the same duty would be a false negative). Deterministic per seed."""
    if size < 2:
        raise ValueError("batch size must be at least 2 (in-batch negatives need another duty)")
    order = list(pairs)
    random.Random(seed).shuffle(order)
    open_batches: list[tuple[list[Pair], set[str]]] = []
    done: list[list[Pair]] = []
    for pair in order:
        for batch, ids in open_batches:
            if pair.duty_id not in ids:
                batch.append(pair)
                ids.add(pair.duty_id)
                if len(batch) == size:
                    done.append(batch)
                    open_batches.remove((batch, ids))
                break
        else:
            open_batches.append(([pair], {pair.duty_id}))
    done.extend(batch for batch, _ in open_batches if len(batch) >= 2)
    random.Random(seed + 1).shuffle(done)
    return done


def load_pairs() -> list[Pair]:
    """The training pairs from the project's data files."""
    from assistant.data import store

    duties = store.load_duties()
    similar = store.load_similar_questions(known_ids={d.id for d in duties})
    return training_pairs(duties, store.load_registry(), similar)


def data_hashes() -> dict[str, str]:
    """sha256 of the data files the pairs are made from."""
    from assistant.settings import current
    from assistant.data.store import input_hashes

    return input_hashes({"duties.jsonl": current().duties, "departments.jsonl": current().departments,
                         "department_aliases.json": current().department_aliases,
                         "similar_questions.jsonl": current().similar_questions})


def recipe(base_weights_sha256: str, data_hashes: dict[str, str], settings: TuneSettings) -> dict:
    """What determines the tuned model (base weights, data, settings, this file's code); a change in any of it
    calls for tuning again."""
    from assistant.data.store import sha256_file

    return {"base_weights_sha256": base_weights_sha256, "data": dict(sorted(data_hashes.items())),
            "settings": asdict(settings), "code_sha256": sha256_file(Path(__file__))}


def _freeze(model, trained_layers: int) -> tuple[int, int]:
    """Freeze everything but the top `trained_layers` transformer layers, the final norm and the dense head."""
    body = model[0].auto_model
    layers = body.layers
    keep = set(range(max(0, len(layers) - trained_layers), len(layers)))
    for name, parameter in model.named_parameters():
        parameter.requires_grad = False
    for index in keep:
        for parameter in layers[index].parameters():
            parameter.requires_grad = True
    for parameter in body.norm.parameters():
        parameter.requires_grad = True
    for module in list(model)[1:]:
        for parameter in module.parameters():
            parameter.requires_grad = True
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def train(base_folder: Path, target: Path, pairs: list[Pair], settings: TuneSettings,
          say: Callable[[str], None] | None = None, progress: bool = False) -> dict:
    """Tune the sentence-transformers model in `base_folder` on `pairs`; save it to `target`. Returns a log."""
    import torch
    from assistant.models.offline import offline
    offline()
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    say = say or (lambda _: None)
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    model = SentenceTransformer(str(base_folder), device="cpu", local_files_only=True)
    trainable, total = _freeze(model, settings.trained_layers)
    query_prompt = model.prompts.get("query", "")
    document_prompt = model.prompts.get("document", model.prompts.get("passage", ""))
    loss = MultipleNegativesRankingLoss(model, scale=settings.scale)
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate)
    plan = [b for epoch in range(settings.epochs) for b in batches(pairs, settings.batch_size, settings.seed + epoch)]
    warmup = max(1, int(len(plan) * settings.warmup_share))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min((step + 1) / warmup, max(0.0, (len(plan) - step) / max(1, len(plan) - warmup))))
    say(f"tuning {trainable / 1e6:.0f} M of {total / 1e6:.0f} M weights on {len(pairs)} pairs: "
        f"{len(plan)} batches of ≤{settings.batch_size}")
    steps = plan
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(plan, desc="tune", unit="batch")
    losses, started = [], time.perf_counter()
    model.train()
    for batch in steps:
        questions = model.tokenize([query_prompt + p.question for p in batch])
        texts = model.tokenize([document_prompt + p.duty_text for p in batch])
        value = loss([questions, texts], None)
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
        schedule.step()
        losses.append(round(float(value), 4))
        if progress:
            steps.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}")
    model.eval()
    target.mkdir(parents=True, exist_ok=True)
    model.save(str(target))
    log = {"pairs": len(pairs), "batches": len(plan), "trainable_weights": trainable, "seconds": round(time.perf_counter() - started, 1),
           "loss_first_20": sum(losses[:20]) / max(1, len(losses[:20])), "loss_last_20": sum(losses[-20:]) / max(1, len(losses[-20:])),
           "losses": losses}
    (target / "tuning-log.json").write_text(json.dumps(log, indent=1), encoding="utf-8")
    say(f"tuned in {log['seconds']:.0f} s; loss {log['loss_first_20']:.3f} → {log['loss_last_20']:.3f}")
    return log
