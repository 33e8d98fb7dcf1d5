"""The systems compared by the evaluator: the shipped configuration, each lever switched off (ablation), each
model alone; opened once per model and index and varied by question-time settings."""

from __future__ import annotations

from assistant.evaluation.metrics import score
from assistant.evaluation.questions import Question, run_questions


def comparison_systems() -> dict[str, dict]:
    """Name → config overrides: the shipped configuration, BM25 alone, and each available model alone (one
    vector per duty and per step, cosine, each duty taking its best unit)."""
    from assistant import models

    plain = dict(question_units=False, lexicon=False, pinyin=False, dense_expansion=False, bm25_weight=0.0,
                 department_boost=0.0, list_intent_boost=0.0, sentence_weight=0.0, sentence_slots=0, decline_lexical_bonus=0.0,
                 unlisted_fact_penalty=0.0)
    systems = {"shipped": {}, "bm25 alone": dict(plain, dense_weight=0.0, bm25_weight=1.0)}
    for name, spec in models.MODELS.items():
        if (spec.folder / models.VERIFIED_MARK).exists():
            systems[f"{name} alone"] = dict(plain, model=name)
    return systems


# Each lever of the shipped configuration, switched off (or changed) one at a time.
ABLATIONS: dict[str, dict] = {
    "shipped": {},
    "− similar questions (相似问 units)": {"question_units": False},
    "− everyday-language lexicon": {"lexicon": False},
    "− lexicon rewrite (the question also embedded in the list's words: 新农合 → 基本医疗保险)": {"lexicon_rewrite": False},
    "− pinyin typo matching": {"pinyin": False},
    "− typo rewrite (the question also embedded with its typos corrected: 宅鸡地 → 宅基地)": {"typo_rewrite": False},
    "− typos across jieba's cuts (打疫|描找 read as 疫苗 when the text then reads better)": {"typo_across_cuts": 0.0},
    "+ expansions in the embedded question": {"dense_expansion": True},
    "− BM25 (weight 0)": {"bm25_weight": 0.0},
    "BM25 weight 0.2": {"bm25_weight": 0.2},
    "− county-body cue": {"department_boost": 0.0},
    "− a body named by a topic word lifts the duties using it (工会: basic-17 beside the federation's coop-40)": {"department_topic": False},
    "− a typo always read corrected (else only when the best duty scores below 0.75: 申请低宝)": {"typo_rewrite_any": False},
    "− list-intent cue (收回/配合)": {"list_intent_boost": 0.0},
    "− relay frames (群众来问：… read as it is typed)": {"relay": False},
    "− questions no list answers by their kind (天气预报, 哪有卖的, 你觉得…: other_question)": {"other_questions": False},
    "− a body's part as a whole (县发改委要镇上配合啥: the body's duties, answered)": {"body_part": False},
    "+ sentence scoring of long messages (weight 0.95)": {"sentence_weight": 0.95},
    "+ a place in the first five for a long message's other matter (sentence picks)": {"sentence_slots": 1},
    "− decline cues (lexical bonus, unlisted-fact penalty)": {"decline_lexical_bonus": 0.0, "unlisted_fact_penalty": 0.0},
    "decline on list text only (no similar questions)": {"decline_question_weight": 0.0},
    "− calibrated confidence (the plain decline rule of the first round)": {"calibrated": False},
    "+ lexicon boost 0.1 (duties using the words an everyday word maps to)": {"lexicon_boost": 0.1},
    "Matryoshka 256 dims": {"dim": 256},
}


def ablations(config) -> dict[str, dict]:
    """ABLATIONS, plus — when the shipped config uses the default model and the fine-tuned model is fetched —
    the fine-tuning lever (`duty-assistant model fetch embeddinggemma-300m-tuned`)."""
    from assistant import models

    rows = dict(ABLATIONS)
    if config.model not in (None, models.DEFAULT_MODEL):
        return rows
    for name, spec in models.MODELS.items():
        if spec.base == models.DEFAULT_MODEL and (spec.folder / models.VERIFIED_MARK).exists():
            rows[f"+ fine-tuned model ({name})"] = {"model": name}
            # its scores run higher: 0.51 declines most dev out-of-scope questions while wrongly declining ≤1.5%
            rows["+ fine-tuned model, decline threshold re-chosen on dev (0.51)"] = {"model": name, "decline_threshold": 0.51}
            rows["+ fine-tuned model − similar questions"] = {"model": name, "question_units": False}
    return rows


class Systems:
    """Opens each needed assistant once (one per model and index) and reuses it for every config that only
    changes query-time settings."""

    def __init__(self, progress: bool):
        self.progress = progress
        self._open: dict[tuple, object] = {}

    def assistant(self, config):
        from assistant.api import Assistant

        key = (config.model, config.dim, config.index_type, config.question_units)
        if key not in self._open:
            self._open[key] = Assistant.open(config=config, build=True, progress=self.progress)
        base = self._open[key]
        changes = {k: v for k, v in config.to_json().items() if v != getattr(base.config, k)}
        return base.with_config(**changes) if changes else base

    def evaluate(self, config, questions: list[Question], name: str, cache_queries: bool = False):
        rows = run_questions(self.assistant(config), questions, self.progress, cache_queries=cache_queries)
        return score(name, questions, {r.id: r for r in rows}), rows
