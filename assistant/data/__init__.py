"""The structured list: parsing the source document, the department registry, data files, retrieval units."""
