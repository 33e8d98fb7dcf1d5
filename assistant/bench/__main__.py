"""A benchmark child process: `python -m assistant.bench worker SPEC` runs one measurement and writes its result.

SPEC is JSON: `kind` (which worker), `out` (the file for the JSON result) and the worker's own keys (see each
worker's docstring). `duty-assistant bench` starts these through `workers.run_child`; run one by hand only to
debug a measurement.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from assistant.bench.growth import growth_worker
from assistant.bench.workers import build_worker, load_worker, open_worker, serve_worker

WORKERS = {"serve": serve_worker, "open": open_worker, "load": load_worker, "build": build_worker,
           "growth": growth_worker}
USAGE = ("usage: python -m assistant.bench worker SPEC  (a child process of `duty-assistant bench`; "
         "SPEC is JSON with kind, out and the worker's settings)")


def worker(argv: list[str]) -> int:
    """Decode the spec, run its worker, write the result to the spec's `out` file. 0, or 2 for a bad spec."""
    if len(argv) != 1:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        spec = json.loads(argv[0])
    except json.JSONDecodeError as err:
        print(f"bench worker: SPEC is not JSON ({err}). {USAGE}", file=sys.stderr)
        return 2
    kind = spec.get("kind") if isinstance(spec, dict) else None
    if kind not in WORKERS or "out" not in spec:
        print(f"bench worker: unknown kind {kind!r} or no `out` in SPEC. Choose a kind from "
              f"{', '.join(WORKERS)}.", file=sys.stderr)
        return 2
    result = WORKERS[kind](spec)
    Path(spec["out"]).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["worker"]:
        return worker(argv[1:])
    print(USAGE + "; the benchmark itself is `duty-assistant bench`", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
