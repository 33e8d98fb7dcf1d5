"""From a question to ranked duties: configuration, question analysis, BM25, encoding, the index, retrieval."""
