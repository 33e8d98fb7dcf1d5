"""Shared fixtures. Unit tests need only the data files; tests marked `model` load the real model and index."""

from __future__ import annotations

import pytest

from assistant import paths
from assistant.store import load_duties, load_registry


@pytest.fixture(scope="session")
def duties():
    return load_duties()


@pytest.fixture(scope="session")
def by_id(duties):
    return {d.id: d for d in duties}


@pytest.fixture(scope="session")
def registry():
    return load_registry()


@pytest.fixture(scope="session")
def source_text():
    return paths.DEFAULT_SOURCE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def assistant():
    """The shipped assistant with the real model and index (built by `make test` before pytest runs)."""
    from assistant.api import Assistant

    return Assistant.open(build=True)
