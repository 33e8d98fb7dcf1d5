"""Bringing a running assistant in line with changed hand-kept data, in about a second, without a rebuild.

A change to the similar questions (相似问) or the lexicon changes what the assistant answers. Instead of
rebuilding the index (minutes), `LiveData` makes a new Retriever from the loaded one:

- only the new similar questions are encoded (like the index build encodes them: as queries, index-side
  weights) and added to a copy of the FAISS index; removed ones are dropped from it;
- BM25 is re-indexed from per-text tokens kept from the last time (only new texts are tokenised);
- the lexicon and the pinyin vocabulary take the new pairs;

then swaps it into the Assistant in one assignment (a question being answered meanwhile finishes on the old
one), and writes the index folder again (units, vectors, a manifest whose input hashes are those of the files
now on disk), so the manifest stays truthful and the next start loads it without a rebuild.

`LiveData.watch()` starts a thread that notices changes other processes made (another server, the CLI, a
person editing the file) within half a second and does the same.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from dataclasses import replace

import numpy as np

from assistant.domain import Unit
from assistant.search.index import LoadedIndex, make_faiss, resolve_index_type, write_index
from assistant.search.lexical import LexicalScorer, tokenize

log = logging.getLogger(__name__)

WATCHED = ("similar_questions", "lexicon", "duties")


class LiveData:
    """Applies data changes to one open Assistant (thread-safe; one change at a time).

    Args:
        assistant: the open `assistant.api.Assistant` whose data, retriever and index are replaced.
    """

    def __init__(self, assistant):
        self.assistant = assistant
        self._tokens: dict[str, list[str]] = {}
        self._lock = threading.RLock()
        self._signature = self.signature()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_sync: dict = {}

    # -- building a retriever for other data ------------------------------------------------------------

    def _tokens_of(self, text: str) -> list[str]:
        found = self._tokens.get(text)
        if found is None:
            found = self._tokens[text] = tokenize(text)
        return found

    def _lexical(self, data) -> LexicalScorer:
        """BM25 over the same documents as `api.lexical_documents` (the tokens of a document are its parts'
        tokens: jieba never joins words across the line breaks between parts)."""
        from assistant.api import lexical_parts

        docs = [[t for p in parts for t in self._tokens_of(p)] or ["_"]
                for parts in lexical_parts(data, self.assistant.config)]
        return LexicalScorer.from_tokens(docs)

    def candidate(self, data):
        """A Retriever (and its units and FAISS index) for `data`, sharing everything that did not change.

        Returns:
            (retriever, LoadedIndex with the new units and FAISS index, {"added": n, "removed": n}).
        """
        from assistant.search.retrieve import Retriever
        from assistant.api import lexicon_words

        with self._lock:
            assistant = self.assistant
            old = assistant.retriever
            units, faiss_index = list(old.units), old.faiss
            added_units: list[Unit] = []
            removed_rows: list[int] = []
            if assistant.config.question_units:
                have: dict[tuple[str, str], list[int]] = defaultdict(list)
                for row, unit in enumerate(units):
                    if unit.kind == "question":
                        have[(unit.duty_id, unit.text)].append(row)
                want = Counter((duty_id, q) for duty_id, qs in data.indexed_similar(assistant.config).items()
                               for q in qs)
                for pair, rows in have.items():
                    extra = len(rows) - want.get(pair, 0)
                    if extra > 0:
                        removed_rows += rows[-extra:]
                for pair, count in want.items():
                    for _ in range(count - len(have.get(pair, ()))):
                        added_units.append(Unit(pair[0], "question", pair[1]))
            if added_units or removed_rows:
                vectors = faiss_index.reconstruct_n(0, faiss_index.ntotal)
                keep = np.ones(len(units), dtype=bool)
                keep[removed_rows] = False
                units = [u for u, k in zip(units, keep) if k]
                vectors = vectors[keep]
                if added_units:
                    # encoded as the index build encodes similar questions (api.encode_units): like queries,
                    # with the index-side weights; not cached on disk (a later full build encodes them again)
                    new = old.encoder.as_queries([u.text for u in added_units], progress=False, use_cache=False)
                    units += added_units
                    vectors = np.vstack([vectors, new]).astype(np.float32)
                manifest = assistant.index.manifest
                index_type = resolve_index_type(manifest.index_type, len(units))
                faiss_index = make_faiss(vectors, index_type, assistant.config.hnsw_ef_construction,
                                         assistant.config.hnsw_ef_search)
            vocabulary: set[str] = set()
            known: set[str] = set()
            if old.pinyin is not None:
                vocabulary = {w for words in old.pinyin.by_sound.values() for w in words}
                vocabulary |= lexicon_words(data.lexicon)
                known = old.pinyin.known
            retriever = Retriever(
                data.duties, data.registry, units, faiss_index, old.encoder, old.config, lexicon=data.lexicon,
                vocabulary=vocabulary, known_words=known, lexical_documents=None, cues=data.cues,
                calibration=data.calibration, model_id=assistant.model_id,
                outside=old.outside, outside_questions=old.outside_questions,
                question_kind=data.question_kind,
            )
            retriever.lexical = self._lexical(data) if old.lexical is not None else None
            loaded = LoadedIndex(assistant.index.manifest, faiss_index, units, assistant.index.outside)
            return retriever, loaded, {"added": len(added_units), "removed": len(removed_rows)}

    def install(self, data, retriever, loaded, persist: bool = True) -> dict:
        """Swap the new data and retriever in; then (with `persist`) write the index folder to match the files."""
        with self._lock:
            self.assistant.data = data
            self.assistant.retriever = retriever
            self.assistant.index = loaded
            installed = time.perf_counter()
            written = self.persist() if persist else False
            self._signature = self.signature()
            return {"installed_at": installed, "index_written": written}

    def persist(self) -> bool:
        """Write the in-memory units and vectors as the index folder, with the manifest's input hashes of the
        data files on disk now; skipped when the manifest on disk already says so. Returns whether it wrote."""
        from assistant.api import OUTSIDE_INPUT, index_inputs
        from assistant.review.changes import data_lock
        from assistant.search.index import read_manifest

        assistant = self.assistant
        folder = index_folder(assistant)
        with data_lock(assistant.settings):
            inputs = index_inputs(assistant.config, assistant.settings)
            # the outside questions' vectors in memory are those of the file as it was when the index was loaded
            # (the desk never re-encodes them): record that file's hash, so that an edit since makes the index stale
            # and the next start encodes them again, rather than pairing the new file with the old vectors
            before = assistant.index.manifest.inputs.get(OUTSIDE_INPUT)
            if before is None:
                inputs.pop(OUTSIDE_INPUT, None)
            else:
                inputs[OUTSIDE_INPUT] = before
            try:
                on_disk = read_manifest(folder)
                if on_disk.inputs == inputs and on_disk.unit_count == len(assistant.index.units):
                    return False
            except Exception:  # noqa: BLE001 - a missing or damaged manifest is written anew
                pass
            manifest = assistant.index.manifest
            loaded = assistant.index
            vectors = loaded.faiss.reconstruct_n(0, loaded.faiss.ntotal)
            new_manifest = write_index(
                folder, loaded.units, vectors, model=manifest.model, weights=manifest.model_weights_sha256,
                inputs=inputs, index_type=manifest.index_type, build_seconds=manifest.build_seconds,
                hnsw=(assistant.config.hnsw_ef_construction, assistant.config.hnsw_ef_search),
                outside=loaded.outside,
            )
            assistant.index = LoadedIndex(new_manifest, loaded.faiss, loaded.units, loaded.outside)
            return True

    def apply_data(self, data, persist: bool = True) -> dict:
        """Candidate for `data`, then install it. Returns timings and counts."""
        start = time.perf_counter()
        with self._lock:
            retriever, loaded, counts = self.candidate(data)
            built = time.perf_counter()
            result = self.install(data, retriever, loaded, persist=persist)
        return {**counts, "build_s": round(built - start, 3), "install_s": round(result["installed_at"] - start, 3),
                "total_s": round(time.perf_counter() - start, 3), "index_written": result["index_written"]}

    # -- changes made elsewhere ---------------------------------------------------------------------------

    def signature(self) -> tuple:
        s = self.assistant.settings
        out = []
        for name in WATCHED:
            path = getattr(s, name)
            try:
                st = path.stat()
                out.append((name, st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                out.append((name, None, None))
        return tuple(out)

    def sync_from_files(self, force: bool = False) -> dict | None:
        """Reload the similar questions and the lexicon from disk and install them, if they changed (or `force`)."""
        from assistant.data.store import load_similar_questions, similar_question_sources
        from assistant.search.cues import load_lexicon

        with self._lock:
            signature = self.signature()
            if signature == self._signature and not force:
                return None
            s = self.assistant.settings
            before = dict((n, (m, z)) for n, m, z in self._signature)
            after = dict((n, (m, z)) for n, m, z in signature)
            if before.get("duties") != after.get("duties"):
                log.warning("data/duties.jsonl changed (a list update?); restart the server to load the new list")
                self._signature = signature
                return {"restart_needed": True}
            data = self.assistant.data
            try:
                new = replace(data, similar=load_similar_questions(s.similar_questions, duties=data.duties),
                              similar_sources=similar_question_sources(s.similar_questions),
                              lexicon=load_lexicon(s.lexicon))
            except Exception as err:  # noqa: BLE001 - a half-edited file: keep answering from what is loaded
                log.warning("data files changed but cannot be loaded (%s); keeping the loaded data", err)
                self._signature = signature
                return {"error": str(err)}
            self.last_sync = self.apply_data(new, persist=True)
            return self.last_sync

    def watch(self, interval: float = 0.5) -> "LiveData":
        """Check the data files every `interval` seconds in a daemon thread."""
        if self._thread is not None:
            return self

        def loop():
            while not self._stop.wait(interval):
                try:
                    self.sync_from_files()
                except Exception:  # noqa: BLE001 - keep watching; the server goes on answering
                    log.exception("syncing changed data files failed")

        self._thread = threading.Thread(target=loop, name="data-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()


def index_folder(assistant):
    """The index folder this assistant was loaded from."""
    from assistant.api import config_index_dir

    folder = getattr(assistant, "index_folder", None)
    return folder or config_index_dir(assistant.config, assistant.model_id, assistant.settings.index)
