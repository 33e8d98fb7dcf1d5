"""Duty Assistant: answers "who handles this?" from a town's official duty lists (履职事项清单)."""

__version__ = "0.1.0"
