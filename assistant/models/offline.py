"""Keep the Hugging Face libraries offline: no model hub, no progress noise."""

from __future__ import annotations

import os

# What the Hugging Face libraries read from the environment: never the network, no progress noise. Set by
# `offline()` just before those libraries are imported, not when this module is imported.
OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


def offline() -> None:
    """Tell transformers / sentence-transformers / huggingface_hub to stay offline (call before importing them)."""
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
