"""Shared fixtures. Tests live in three folders, each its own marker (added here by folder):
unit/ (data files and fakes only, seconds), integration/ (the real model and index; `model` marks those that
load them), browser/ (the web app in headless Chromium). `make test` runs all; `pytest -m unit` the fast ones."""

from __future__ import annotations

import pytest

from assistant.settings import current
from assistant.data.store import load_duties, load_registry


def pytest_collection_modifyitems(config, items):
    for item in items:
        folder = item.path.parent.name
        if folder in ("unit", "integration", "browser"):
            item.add_marker(getattr(pytest.mark, folder))


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
    return current().default_source.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def assistant():
    """The shipped assistant with the real model and index (built by `make test` before pytest runs)."""
    from assistant.api import Assistant

    return Assistant.open(build=True)
