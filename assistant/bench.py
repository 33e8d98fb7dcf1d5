"""Benchmarks (speed, memory, growth). Being written; see issue "Fast on a 2-core office PC"."""


def add_arguments(p) -> None:
    p.add_argument("--json", help="write the results as JSON")


def main(args) -> int:
    raise NotImplementedError("duty-assistant bench is not written yet")
