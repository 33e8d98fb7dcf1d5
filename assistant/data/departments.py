"""County bodies: canonical names, the short forms staff use, hand-kept aliases; resolving a mention.

The registry is derived from the tables (every body a department column or a reclaimed item names) and
completed by hand-kept data (`data/department_aliases.json`: colloquial and English names, bodies that only
steps mention, phrases that look like bodies but are not). Pure: no file I/O here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.domain import Department

# A body's name ends in one of these (局, 委员会, 分局 …); used to recognise `县林业和草原局：` headings.
_BODY_END = "(?:局|委员会|委|部|办|办公室|院|会|队|台|室|站|中心|所|机构|联|政府|人大|政协)"
_HEADING = re.compile(rf"^(?P<name>[\u4e00-\u9fff（）()]{{2,30}}?{_BODY_END})\s*[:：]\s*(?P<rest>.*)$")
_COUNTY_PREFIXES = ("奇台县", "昌吉州")


def heading_split(text: str) -> tuple[str | None, str]:
    """`县林业和草原局：统筹…` → (`县林业和草原局`, `统筹…`); text without such a heading → (None, text)."""
    m = _HEADING.match(text)
    if not m:
        return None, text
    return m.group("name"), m.group("rest").strip()


def derived_short_forms(name: str) -> list[str]:
    """Short forms that follow from a full name: 奇台县公安局 → 县公安局, 公安局; 奇台县委组织部 → 县委组织部, 组织部."""
    forms: list[str] = []
    for prefix in ("奇台县委", "奇台县"):
        if name.startswith(prefix) and len(name) > len(prefix) + 1:
            rest = name[len(prefix):]
            forms = [("县委" if prefix == "奇台县委" else "县") + rest]
            if len(rest) >= 2:
                forms.append(rest)
            break
    return forms


@dataclass
class Registry:
    """All bodies, and a lookup from every name form to the canonical name."""

    departments: dict[str, Department] = field(default_factory=dict)
    not_bodies: tuple[str, ...] = ()  # phrases like 县直部门 that look like a body but name none

    def __post_init__(self) -> None:
        self._lookup: dict[str, str] = {}
        self._english: list[tuple[re.Pattern, str]] = []
        for dept in self.departments.values():
            for form in dept.names():
                if re.fullmatch(r"[A-Za-z .,&'-]+", form):
                    pattern = re.compile(r"\b" + re.escape(form.lower()).replace(r"\ ", r"\s+") + r"s?\b")
                    self._english.append((pattern, dept.name))
                else:
                    self._lookup.setdefault(form, dept.name)
        # Longest form first, so 县住房和城乡建设局 wins over 建设局.
        self._forms = sorted(self._lookup, key=len, reverse=True)
        self._english.sort(key=lambda p: len(p[0].pattern), reverse=True)

    @classmethod
    def build(cls, table_names: list[str], hand: dict) -> "Registry":
        """Bodies named by the tables, plus hand-kept bodies and aliases.

        Args:
            table_names: names as the department columns and reclaimed items give them.
            hand: the parsed `data/department_aliases.json` ({"bodies": {name: {...}}, "not_bodies": [...]}).
        Returns:
            The registry; a table name that merely contains a known body (`…局及其他…部门`) is not a body.
        """
        bodies: dict[str, dict] = {}
        hand_bodies = hand.get("bodies", {})
        for name in table_names:
            bodies.setdefault(name, {})
        for name, extra in hand_bodies.items():
            bodies.setdefault(name, {}).update(extra)
        # A table cell like 奇台县应急管理局及其他负有…的部门 names a known body plus a vague remainder.
        for name in list(bodies):
            if name not in hand_bodies and any(other != name and other in name for other in bodies):
                del bodies[name]
        departments = {}
        for name, extra in bodies.items():
            short = list(extra.get("short", []))
            for form in derived_short_forms(name):
                if form not in short:
                    short.append(form)
            departments[name] = Department(
                name=name,
                short=tuple(short),
                aliases=tuple(extra.get("aliases", [])),
                en=extra.get("en", ""),
            )
        return cls(departments, tuple(hand.get("not_bodies", [])))

    def resolve(self, mention: str | None) -> str | None:
        """Any name form (full, short, alias, English) → canonical name; None when it names no known body."""
        if not mention:
            return None
        mention = mention.strip()
        if mention in self._lookup:
            return self._lookup[mention]
        found = self.mentions(mention)
        return found[0] if found else None

    def resolve_all(self, cell: str) -> list[str]:
        """A department cell part → every body it names (`…应急管理局及其他…部门` → [应急管理局])."""
        exact = self._lookup.get(cell.strip())
        return [exact] if exact else self.mentions(cell)

    def mentions(self, text: str) -> list[str]:
        """Every body a text names, in order of first mention (longest forms first, no overlaps)."""
        return list(dict.fromkeys(name for _, name in self.named_forms(text)))

    def named_forms(self, text: str) -> list[tuple[str, str]]:
        """(the words as written, the body they name) for every mention in `text`, in order of mention (longest
        forms first, no overlaps; an English form as found, lower-cased)."""
        found: list[tuple[int, str, str]] = []
        taken = [False] * len(text)
        for form in self._forms:
            start = text.find(form)
            while start != -1:
                end = start + len(form)
                if not any(taken[start:end]):
                    for i in range(start, end):
                        taken[i] = True
                    found.append((start, form, self._lookup[form]))
                start = text.find(form, end)
        lower = text.lower()
        for pattern, name in self._english:
            m = pattern.search(lower)
            if m:
                found.append((m.start(), m.group(), name))
        return [(form, name) for _, form, name in sorted(found)]

    def leading_mention(self, text: str, candidates: list[str]) -> str | None:
        """The body a step starts with (`县公安局负责…`), if it is one of `candidates`."""
        for form in self._forms:
            if text.startswith(form) and self._lookup[form] in candidates:
                return self._lookup[form]
        return None

    def get(self, name: str) -> Department:
        return self.departments[name]

    def display(self, name: str) -> str:
        """How staff say a body (`县公安局`), or the name itself when it is not registered."""
        dept = self.departments.get(name)
        return dept.display if dept else name

    def to_rows(self) -> list[dict]:
        return [
            {"name": d.name, "short": list(d.short), "aliases": list(d.aliases), "en": d.en}
            for d in sorted(self.departments.values(), key=lambda d: d.name)
        ]

    @classmethod
    def from_rows(cls, rows: list[dict], not_bodies: tuple[str, ...] = ()) -> "Registry":
        departments = {
            r["name"]: Department(r["name"], tuple(r.get("short", ())), tuple(r.get("aliases", ())), r.get("en", ""))
            for r in rows
        }
        return cls(departments, not_bodies)


# Phrases in step texts that look like bodies: 县X局, 奇台县X委员会 … (used to check the registry is complete).
BODY_MENTION = re.compile(
    r"(?:奇台县|县)[\u4e00-\u9fff]{1,14}?(?:局|委员会|委|部|办|院|会|队|台|室|站|中心|所|机构|政府)"
)
