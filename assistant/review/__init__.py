"""The Review desk: questions that need a person (desk.py), data changes with an audit line (changes.py), the
dev-set check before a change (gate.py), and applying a change to the running assistant in a second (live.py)."""
