"""Command-line options shared by every sub-command that loads a model (`ask`, `index`, `eval`, `serve`,
`doctor`, `calibrate`), and the retrieval config they ask for."""

from __future__ import annotations

import argparse

def add_config_options(p: argparse.ArgumentParser, quiet: bool = False) -> None:
    """The options every command that loads a model shares: --model, --config (and --quiet)."""
    p.add_argument("--model", help="registry name or model folder")
    p.add_argument("--config", help="retrieval config (JSON object of settings)")
    if quiet:
        p.add_argument("--quiet", action="store_true", help="no progress output")


def config_from(args):
    """The retrieval config the options of `add_config_options` ask for."""
    from assistant.search.config import RetrievalConfig

    config = RetrievalConfig.load(getattr(args, "config", None))
    if getattr(args, "model", None):
        config = config.with_(model=args.model)
    return config
