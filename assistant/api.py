"""The one Python API that the CLI, the web app, the evaluator and the benchmarks call.

    from assistant.api import Assistant
    assistant = Assistant.open()            # loads data, model and index (never downloads anything)
    answer = assistant.ask("谁管流浪狗")       # → Answer with cards; answer.to_json() for machines

Everything it needs is passed in or read from one `Settings` object: `Assistant.open(settings, model=…,
index_root=…)` for another cache, a loaded model or another index folder; `assistant.with_config(…)` for a
variant sharing the loaded model and index (evaluator, benchmarks); `assistant.forget_questions()` to clear
the question memo so that timings measure encoding.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import json
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant import models
from assistant.errors import IndexProblem, NotFound, SettingsError
from assistant.settings import Settings, current
from assistant.answer import Answer, compose
from assistant.search.config import RetrievalConfig
from assistant.data import bodies
from assistant.data.departments import Registry
from assistant.domain import Duty, ListKind, OutsideQuestion
from assistant.search.encode import Encoder
from assistant.search.index import LoadedIndex, Manifest, index_dir, load_index, recover_swap, write_index
from assistant.search.query import OTHER_SCRIPT_NOTICE, other_script
from assistant.search.segment import add_words, lexicon_cutter, segmenter
from assistant.search.confidence import Calibration
from assistant.search.retrieve import Filters, Result, Retriever
from assistant.data.store import (input_hashes, load_duties, load_outside_questions, load_registry,
                                  load_similar_questions, similar_question_sources)
from assistant.search.question_kind import QuestionKind
from assistant.search.cues import load_lexicon, load_question_cues
from assistant.data.units import all_units

_HAN_WORD = re.compile(r"[\u4e00-\u9fff]{2,4}")


log = logging.getLogger(__name__)


@dataclass
class Data:
    """Everything under data/ that retrieval needs."""

    duties: list[Duty]
    registry: Registry
    similar: dict[str, list[str]]
    lexicon: list
    cues: object
    calibration: Calibration | None = None
    question_kind: QuestionKind | None = None  # the learnt reading of what a question asks (data/question_kind.json)
    outside: list[OutsideQuestion] = field(default_factory=list)  # questions about matters the list does not hold
    similar_sources: dict[str, str] = field(default_factory=dict)  # similar question → its `source`

    @classmethod
    def load(cls, settings: Settings | None = None) -> "Data":
        s = settings or current()
        duties = load_duties(s.duties)
        return cls(
            duties=duties,
            registry=load_registry(s.departments, s.department_aliases),
            similar=load_similar_questions(s.similar_questions, duties=duties),
            lexicon=load_lexicon(s.lexicon),
            cues=load_question_cues(s.question_cues),
            calibration=Calibration.load(s.calibration),
            question_kind=QuestionKind.load(s.question_kind),
            outside=load_outside_questions(s.outside_questions),
            similar_sources=similar_question_sources(s.similar_questions),
        )

    def indexed_similar(self, config: RetrievalConfig) -> dict[str, list[str]]:
        """The similar questions a configuration indexes (none without question units; not those of a skipped
        source)."""
        if not config.question_units:
            return {}
        skipped = set(config.question_sources_skipped)
        if not skipped:
            return self.similar
        return {duty: [q for q in questions if self.similar_sources.get(q) not in skipped]
                for duty, questions in self.similar.items()}


OUTSIDE_INPUT = "outside_questions.jsonl"  # its key among an index's inputs


def index_inputs(config: RetrievalConfig, settings: Settings | None = None) -> dict[str, str]:
    """What an index depends on, by sha256: the source, the structured data, the unit settings."""
    s = settings or current()
    files = {f"source/{p.name}": p for p in sorted(s.source_dir.glob("*.txt"))}
    files["duties.jsonl"] = s.duties
    files["departments.jsonl"] = s.departments
    if config.question_units:
        files["similar_questions.jsonl"] = s.similar_questions
    files[OUTSIDE_INPUT] = s.outside_questions  # counted only where the file exists
    hashes = input_hashes(files)
    hashes["unit_settings"] = unit_settings_hash(config)
    return hashes


def unit_settings_hash(config: RetrievalConfig) -> str:
    return hashlib.sha256(json.dumps(_unit_settings(config), sort_keys=True).encode()).hexdigest()


def _unit_settings(config: RetrievalConfig) -> dict:
    """The settings an index is built with (every other setting applies at question time)."""
    settings = {"dim": config.dim, "index_type": config.index_type, "question_units": config.question_units}
    if config.question_sources_skipped:
        settings["question_sources_skipped"] = sorted(config.question_sources_skipped)
    if config.index_type != "flat":  # HNSW parameters matter only where HNSW may be built
        settings["hnsw"] = [config.hnsw_ef_construction, config.hnsw_ef_search]
    return settings


def config_index_dir(config: RetrievalConfig, model_id: str, root: Path | None = None) -> Path:
    """One folder per model and unit settings, so comparing configurations never rebuilds the shipped index."""
    folder = index_dir(model_id, root or current().index)
    # one folder per model whatever similar questions it leaves out (a model has one set: the route's, route.py)
    mine = {k: v for k, v in _unit_settings(config).items() if k != "question_sources_skipped"}
    same = mine == _unit_settings(RetrievalConfig())
    return folder if same else folder.parent / f"{folder.name}.{unit_settings_hash(config)[:8]}"


def make_units(data: Data, config: RetrievalConfig):
    return all_units(data.duties, data.registry, data.indexed_similar(config))


def encode_units(encoder: Encoder, units, progress: bool, use_cache: bool = True):
    """Similar questions are questions: they are embedded like queries; everything else like documents."""
    import numpy as np

    vectors = np.zeros((len(units), encoder.dimension), dtype=np.float32)
    questions = [i for i, u in enumerate(units) if u.kind == "question"]
    documents = [i for i, u in enumerate(units) if u.kind != "question"]
    if documents:
        vectors[documents] = encoder.documents([units[i].text for i in documents], progress, use_cache)
    if questions:
        vectors[questions] = encoder.as_queries([units[i].text for i in questions], progress, use_cache)
    return vectors


def build_index(
    config: RetrievalConfig | None = None, *, force: bool = False, progress: bool = True, model=None,
    use_cache: bool = True, data: Data | None = None, settings: Settings | None = None,
    index_root: Path | None = None,
) -> tuple[Manifest, bool]:
    """Build the index for a configuration unless a current one exists. Returns (manifest, built)."""
    loaded, built = ensure_index(config, force=force, progress=progress, model=model, use_cache=use_cache, data=data,
                                 settings=settings, index_root=index_root)
    return loaded.manifest, built


def ensure_index(
    config: RetrievalConfig | None = None, *, force: bool = False, progress: bool = True, model=None,
    use_cache: bool = True, data: Data | None = None, settings: Settings | None = None,
    index_root: Path | None = None, ref: "models.ModelRef | None" = None,
) -> tuple[LoadedIndex, bool]:
    """The loaded, validated index for a configuration, built first when it is missing, stale or damaged (or
    with `force`). Returns (index, built). Only an IndexProblem leads to a rebuild: any other error is raised."""
    config = config or RetrievalConfig()
    settings = settings or current()
    ref = ref or models.resolve(config.model)
    folder = config_index_dir(config, ref.id, index_root or settings.index)
    inputs = index_inputs(config, settings)
    recover_swap(folder)  # a build killed mid-swap left the previous index as `.old`: serve it, do not rebuild
    if not force and (folder / "manifest.json").exists():
        try:
            return load_index(folder, model=ref.id, weights=ref.weights_sha256, inputs=inputs), False
        except IndexProblem:  # stale or damaged: rebuilt below
            pass
    data = data or Data.load(settings)
    model = model or models.load(ref, backend=config.backend, quantize_queries=False)
    start = time.perf_counter()
    encoder = Encoder(model, ref.weights_sha256, config.dim, memo=0)
    units = make_units(data, config)
    vectors = encode_units(encoder, units, progress, use_cache)
    outside = encoder.as_queries([q.question for q in data.outside], progress, use_cache) if data.outside else None
    write_index(
        folder, units, vectors, model=ref.id, weights=ref.weights_sha256, inputs=inputs,
        index_type=config.index_type, build_seconds=time.perf_counter() - start,
        hnsw=(config.hnsw_ef_construction, config.hnsw_ef_search), outside=outside,
    )
    return load_index(folder, model=ref.id, weights=ref.weights_sha256, inputs=inputs), True


def lexical_parts(data: Data, config: RetrievalConfig) -> list[list[str]]:
    """Per duty, the texts its BM25 document is made of: category, title, steps and the similar questions the
    configuration indexes."""
    similar = data.indexed_similar(config)
    return [[duty.category, duty.title, *(s.text for s in duty.steps), *similar.get(duty.id, [])]
            for duty in data.duties]


def lexical_documents(data: Data, config: RetrievalConfig) -> list[str]:
    return ["\n".join(parts) for parts in lexical_parts(data, config)]


def vocabulary(data: Data) -> set[str]:
    """The words a typo is read back to (pinyin matching): jieba words of the list's text, the lexicon's official
    terms, and its everyday names (残急证 → 残疾证, 和疗 → 合疗: people mistype the names they use, not the list's)."""
    jieba = segmenter()
    words: set[str] = set()
    for duty in data.duties:
        for text in (duty.title, *(s.text for s in duty.steps)):
            words.update(w for w in jieba.cut(text) if _HAN_WORD.fullmatch(w))
    return words | lexicon_words(data.lexicon)


def lexicon_words(lexicon) -> set[str]:
    """The lexicon's official terms and everyday names that pinyin matching may read a typo back to."""
    return {t for entry in lexicon for t in (*entry.official, entry.everyday) if _HAN_WORD.fullmatch(t)}


def known_words(rare_nouns: int = 0) -> set[str]:
    """General Chinese words (jieba's dictionary): never treated as typos — except nouns counted at most `rare_nouns`
    times (RetrievalConfig.typo_rare_nouns: 秸杆, 燥音, 防讯 are misspellings the dictionary counted, not words)."""
    jieba = segmenter()
    jieba.initialize()
    words = {w for w, f in jieba.dt.FREQ.items() if f > 0 and _HAN_WORD.fullmatch(w)}
    if rare_nouns > 0:
        from jieba import posseg  # the same dictionary's part-of-speech column

        tags = posseg.dt.word_tag_tab
        words -= {w for w in words if jieba.dt.FREQ[w] <= rare_nouns and tags.get(w, "").startswith("n")}
    return words


def _retriever(data: Data, loaded: LoadedIndex, encoder: Encoder, config: RetrievalConfig, model_id: str) -> Retriever:
    cutter = None
    if config.lexicon and config.lexicon_cut:
        # the lexicon's words are words to the cutter BM25 and typo matching read with (eighteenth round: 春防羊 is
        # no typo of 放羊; dev, each block left out: right and answered +0.3 to +0.5 points at the same share wrong)
        add_words(lexicon_words(data.lexicon))
        cutter = lexicon_cutter()
    return Retriever(
        data.duties, data.registry, loaded.units, loaded.faiss, encoder, config,
        lexicon=data.lexicon,
        vocabulary=vocabulary(data) if config.pinyin else set(),
        known_words=known_words(config.typo_rare_nouns) if config.pinyin else set(),
        lexical_documents=lexical_documents(data, config),
        cues=data.cues,
        calibration=data.calibration,
        model_id=model_id,
        outside=loaded.outside,
        outside_questions=data.outside,
        cutter=cutter,
        question_kind=data.question_kind,
    )


class Assistant:
    """Loads data, model and index once; answers questions. Shared by every user of one process."""

    def __init__(self, data: Data, retriever: Retriever, index: LoadedIndex, config: RetrievalConfig, model_id: str,
                 settings: Settings | None = None, route=None):
        self.data = data
        self.retriever = retriever
        self.index = index
        self.config = config
        self.model_id = model_id
        self.settings = settings or current()
        self.route = route  # Uyghur and Kazakh questions: assistant.search.route.Route, or None

    @classmethod
    def open(cls, settings: Settings | None = None, *, config: RetrievalConfig | None = None, model=None,
             index_root: Path | None = None, build: bool = False, progress: bool = False, data: Data | None = None,
             route: bool | None = None) -> "Assistant":
        """Load everything, once: data, the model (unless a loaded `model` is given) and the index.

        Args:
            settings: paths and environment settings (default: this process's, read once).
            config: retrieval settings (default: RetrievalConfig()).
            model: an already loaded model (a test's fake encoder model, or one shared between assistants).
            index_root: the folder holding index folders (default: settings.index).
            build: build a missing or stale index first; otherwise such an index is an IndexProblem naming
                the command that fixes it.
            data: already loaded data (the route shares the default assistant's).
            route: open the route for Uyghur and Kazakh questions (assistant/search/route.py); by default when
                the config uses the default model and no model is given.
        """
        settings = settings or current()
        config = config or RetrievalConfig()
        _one_blas_thread()
        if route is None:
            route = model is None and config.model in (None, models.DEFAULT_MODEL)
        data = data or Data.load(settings)
        ref = models.resolve(config.model)
        if build:
            model = model or models.load(ref, backend=config.backend, quantize_queries=config.quantize_queries)
            loaded, _ = ensure_index(config, progress=progress, model=model, data=data, settings=settings,
                                     index_root=index_root, ref=ref)
        else:
            folder = config_index_dir(config, ref.id, index_root or settings.index)
            loaded = load_index(folder, model=ref.id, weights=ref.weights_sha256, inputs=index_inputs(config, settings))
        model = model or models.load(ref, backend=config.backend, quantize_queries=config.quantize_queries)
        encoder = Encoder(model, ref.weights_sha256, config.dim, memo=settings.question_memo)
        if encoder.dimension != loaded.manifest.dimension:
            raise IndexProblem(f"the index for {ref.id} has dimension {loaded.manifest.dimension} but the model "
                               f"gives {encoder.dimension}; run `duty-assistant index build --force`")
        routed = None
        if route and settings.route_model:
            routed = open_route(settings, data, build=build, progress=progress, index_root=index_root, base=config)
        opened = cls(data, _retriever(data, loaded, encoder, config, ref.id), loaded, config, ref.id, settings, routed)
        opened.index_folder = config_index_dir(config, ref.id, index_root or settings.index)  # review/live.py writes it
        return opened

    def with_config(self, **changes) -> "Assistant":
        """A variant of this assistant with other question-time settings, sharing its data, model and index.
        Settings that change the index (model, dim, index_type, question_units …) need `Assistant.open`."""
        config = self.config.with_(**changes)
        if _unit_settings(config) != _unit_settings(self.config) or config.model != self.config.model:
            raise SettingsError("with_config changes question-time settings only; open another Assistant for "
                                f"{', '.join(sorted(changes))}")
        retriever = self.retriever
        encoder = retriever.encoder
        if ((config.pinyin, config.question_units, config.typo_rare_nouns)
                != (self.config.pinyin, self.config.question_units, self.config.typo_rare_nouns)):
            new = _retriever(self.data, self.index, encoder, config, self.model_id)
        else:
            new = retriever.with_config(config)
        route = self.route.with_config(**changes) if self.route else None
        return Assistant(self.data, new, self.index, config, self.model_id, self.settings, route)

    def forget_questions(self) -> None:
        """Clear the memo of recent question vectors, so the next questions are encoded afresh."""
        self.retriever.encoder.forget_queries()

    # -- questions ------------------------------------------------------------------------------------

    def filters(self, list: str | None = None, department: str | None = None, category: str | None = None) -> Filters | None:
        """Filters from user-facing values; an unknown list or body raises ValueError listing the choices."""
        if not (list or department or category):
            return None
        kind = ListKind.parse(list) if list else None
        dept = None
        if department:
            dept = self.data.registry.resolve(department)
            if dept is None:
                raise NotFound(f"Unknown county body {department!r}. Try a name such as 县公安局, 民政局 or 县水利局 "
                                 "(`duty-assistant departments` lists them).")
        if category and category not in self.categories():
            raise NotFound(f"Unknown category {category!r}. Choose from {', '.join(self.categories())}.")
        return Filters(kind, category, dept)

    def search(self, question: str, k: int | None = None, **filters) -> Result:
        """Ranked duties with evidence and the decline decision; `k` defaults to the config's. A question in
        Uyghur or Kazakh is searched by the route (its own model and index), when there is one."""
        lang = self.route.language(question) if self.route else None
        if lang:
            return self.route.search(question, k, self.filters(**filters), lang=lang)
        return self.retriever.search(question, k, self.filters(**filters))

    def ask(self, question: str, k: int | None = None, **filters) -> Answer:
        """Answer a question with cited duty cards (or the plain "not in the list" sentence)."""
        result = self.search(question, k, **filters)
        answer = compose(result, self.data.registry, self.config.max_chars)
        answer.department = self.body_summary(result)
        if not answer.answered and other_script(answer.question) and result.query.lang in ("zh", "en", "mixed"):
            # a script nothing here reads (no route for it): say which languages work
            answer.notice = " ".join(filter(None, [answer.notice, OTHER_SCRIPT_NOTICE]))
        return answer

    def body_summary(self, result: Result) -> dict | None:
        """The one county body a question names, with every duty that concerns it (assistant.data.bodies); the
        duties of the list it asks about (收回, 配合) or filters to; None when it names no body or several."""
        named = bodies.asks_about_body(result.query.question, self.data.registry)
        if named is None and len(result.query.departments) != 1:
            return None
        lists = [result.filters.list.value] if result.filters and result.filters.list else []
        if named and not lists:
            lists = list(result.query.list_intent)
        return bodies.summary(self.data.duties, self.data.registry, named or result.query.departments[0],
                              asked=named is not None, lists=lists)

    # -- browsing -------------------------------------------------------------------------------------

    def categories(self) -> list[str]:
        return list(dict.fromkeys(d.category for d in self.data.duties))

    def duty(self, duty_id: str) -> Duty:
        by_id = self.retriever.by_id
        if duty_id not in by_id:
            raise NotFound(f"Unknown duty {duty_id!r}; ids look like basic-43, coop-19, reclaimed-2")
        return by_id[duty_id]

    def duties_of(self, department: str) -> dict[str, list[Duty]]:
        """A county body's duties grouped by list: those it leads, takes over, has steps in, or a step names
        (assistant.data.bodies, the rule Browse and an answer share)."""
        name = self.data.registry.resolve(department)
        if name is None:
            raise NotFound(f"Unknown county body {department!r}. Try a name such as 县公安局, 民政局 or 县水利局 "
                           "(`duty-assistant departments` lists them).")
        grouped: dict[str, list[Duty]] = {k.value: [] for k in ListKind}
        for duty, _ in bodies.duties_of(self.data.duties, self.data.registry, name):  # the one rule
            grouped[duty.list.value].append(duty)
        return grouped


# -- the route for Uyghur and Kazakh questions (assistant/search/route.py) ----------------------------------


@functools.cache
def _one_blas_thread() -> None:
    """numpy's own products in answering a question stay on one thread. The model's runtime owns the cores; numpy's
    BLAS (OpenBLAS) starts a thread per core for a product above a size, and those threads spin on after it against
    the model's: with 622 outside questions (622 × 768, fifteenth round; 429 before) a message took 145 ms instead of
    100 on two cores, the same texts encoded 30 % slower. threadpoolctl sets the limit for the whole process, once
    (functools.cache)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def open_route(settings: Settings, data: Data, *, build: bool = False, progress: bool = False,
               index_root: Path | None = None, base: RetrievalConfig | None = None):
    """Open the route for `settings.route_model`, sharing the loaded `data`; None when there is no route
    model, or (unless `build`) its weights or index are missing — then Uyghur and Kazakh questions are
    told to ask in Chinese, as before, and the log says how to add the route."""
    from assistant.search.route import Route, RouteLexicon, load_route_lexicon, route_config
    from assistant.errors import DutyAssistantError, ModelError
    from assistant.search.confidence import Calibration

    if not settings.route_model:
        return None
    config = route_config(base or RetrievalConfig(), settings.route_model)
    try:
        from assistant import models

        ref = models.resolve(settings.route_model)
        route_data = replace(data, calibration=Calibration.load(settings.calibration_for(ref.id)))
        assistant = Assistant.open(settings, config=config, index_root=index_root, build=build,
                                   progress=progress, data=route_data, route=False)
    except DutyAssistantError as err:
        if build and not isinstance(err, ModelError):  # weights not fetched: serve without the route
            raise
        log.warning("no route for Uyghur and Kazakh questions (%s); run `duty-assistant model fetch %s` and "
                    "`duty-assistant index build`", err, settings.route_model)
        return None
    return Route(assistant, RouteLexicon(load_route_lexicon(settings.route_lexicon)))


def build_route_index(settings, base: RetrievalConfig | None = None, *, force: bool = False, progress: bool = True,
                      use_cache: bool = True):
    """Build the route model's index unless a current one exists (what `duty-assistant index build` does after
    the default index). Returns (manifest, built), or None when there is no route model.

    Raises ModelError when the route model is not fetched (`duty-assistant model fetch e5-small`)."""
    from assistant.search.route import route_config
    if not settings.route_model:
        return None
    config = route_config(base or RetrievalConfig(), settings.route_model)
    return build_index(config, force=force, progress=progress, use_cache=use_cache, settings=settings)
