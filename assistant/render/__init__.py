"""Answers and duties as people see them: the zh/en label table (`labels`), terminal text (`text`), HTML (`html`)
and table rows (`tables`). Pure functions over `assistant.answer`'s cards; nothing here searches or reads files.

Kept free of imports on purpose: `assistant.answer` reads its labels from `assistant.labels`, and the
renderers read `assistant.answer`'s cards, so the package itself must not pull either side in.
"""
