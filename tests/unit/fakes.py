"""Stand-ins for the embedding model, so retrieval can be tested in milliseconds without the 300M model.

`BagOfCharacters` embeds a text as the hashed counts of its characters and character pairs: texts that share
words get close vectors, which is all fusion, evidence, tiers and filters need. `tiny_retriever` builds a real
`Retriever` (real FAISS index, real BM25, real cues) over a handful of real duties.
"""

from __future__ import annotations

import zlib

import numpy as np

from assistant.data.units import all_units
from assistant.search.config import RetrievalConfig
from assistant.search.cues import QuestionCues, load_question_cues
from assistant.search.encode import Encoder
from assistant.search.retrieve import Retriever

DIM = 256


class BagOfCharacters:
    """A sentence-transformers stand-in: `encode`, `prompts`, `get_embedding_dimension`."""

    prompts = {"query": "", "document": ""}

    def get_embedding_dimension(self) -> int:
        return DIM

    def encode(self, texts, prompt=None, batch_size=32, show_progress_bar=False, convert_to_numpy=True,
               normalize_embeddings=False):
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            text = text.lower()
            grams = list(text) + [text[i:i + 2] for i in range(len(text) - 1)]
            for gram in grams:
                if gram.strip():
                    out[row, zlib.crc32(gram.encode()) % DIM] += 1.0
        return out


def tiny_retriever(duties, registry, ids, similar=None, config=None, calibration=None, cues=None,
                   lexicon=(), vocabulary=frozenset(), outside=()) -> Retriever:
    """A Retriever over the duties `ids` (real duty text), with the fake model and an exact FAISS index;
    `outside`: questions about matters the list does not hold (OutsideQuestion)."""
    import faiss

    chosen = [d for d in duties if d.id in ids]
    units = all_units(chosen, registry, similar or {})
    encoder = Encoder(BagOfCharacters(), "bag-of-characters", memo=0)
    vectors = encoder._encode([u.text for u in units], "", False)
    index = faiss.IndexFlatIP(DIM)
    index.add(vectors)
    documents = ["\n".join([d.category, d.title, *(s.text for s in d.steps), *(similar or {}).get(d.id, [])])
                 for d in chosen]
    return Retriever(chosen, registry, units, index, encoder, config or RetrievalConfig(pinyin=False),
                     lexicon=lexicon, vocabulary=set(vocabulary), lexical_documents=documents,
                     cues=cues if cues is not None else load_question_cues(), calibration=calibration,
                     model_id="bag-of-characters",
                     outside=encoder._encode([q.question for q in outside], "", False) if outside else None,
                     outside_questions=list(outside))


__all__ = ["BagOfCharacters", "QuestionCues", "tiny_retriever"]
