"""The nouns of the domain: list, duty, step, department, and what retrieval returns.

One type each, one name everywhere (code, JSON, UI labels, tests).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum

from assistant.errors import NotFound


class ListKind(str, Enum):
    """Which of the town's three lists (三张清单) a duty belongs to."""

    BASIC = "basic"  # 基本履职事项: the town itself is responsible
    COOP = "coop"  # 配合履职事项: county bodies lead, the town assists
    RECLAIMED = "reclaimed"  # 上级部门收回事项: a county body took it over; the town no longer does it

    @property
    def zh(self) -> str:
        return LIST_LABELS[self][0]

    @property
    def en(self) -> str:
        return LIST_LABELS[self][1]

    @classmethod
    def parse(cls, value: str) -> "ListKind":
        """Accept `basic`, `coop`, `reclaimed` (or the Chinese label); raise with the valid choices."""
        for kind in cls:
            if value in (kind.value, kind.zh, kind.zh + "清单"):
                return kind
        choices = ", ".join(k.value for k in cls)
        raise NotFound(f"Unknown list {value!r}. Choose from {choices}.")


# The longest similar question (or out-of-scope example) a spreadsheet import or the Review desk may add: a question,
# not a pasted paragraph. 300 since the eighteenth round: the English situations (a visitor's or a relative's story, up
# to 45 words) run to 230 characters, and a limit of 200 made the stored file fail its own export → import round trip.
SIMILAR_MAX_CHARS = 300

LIST_LABELS = {
    ListKind.BASIC: ("基本履职事项", "basic duty"),
    ListKind.COOP: ("配合履职事项", "cooperative duty"),
    ListKind.RECLAIMED: ("上级部门收回事项", "reclaimed duty"),
}


class Side(str, Enum):
    """Whose part of a duty a step describes."""

    UPPER = "upper"  # the county department's duty (上级部门职责)
    TOWN = "town"  # the town's part (乡镇配合职责, or a clause of a basic duty)
    RECEIVER = "receiver"  # the body that took a reclaimed item over (承接部门及工作方式)


@dataclass(frozen=True)
class Step:
    """One numbered sub-step (or clause) of a duty, as the list states it."""

    order: int
    text: str
    side: Side
    department: str | None = None  # canonical name, where the list ties the step to one body

    def to_json(self) -> dict:
        data = asdict(self)
        data["side"] = self.side.value
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Step":
        return cls(order=data["order"], text=data["text"], side=Side(data["side"]), department=data.get("department"))


@dataclass(frozen=True)
class Duty:
    """One row of one list (事项)."""

    id: str  # basic-N / coop-N / reclaimed-N
    list: ListKind
    number: int  # 序号 within its list
    category: str  # 事项类别
    title: str  # 事项名称
    departments: tuple[str, ...] = ()  # lead (coop) or receiving (reclaimed) county bodies, canonical names
    steps: tuple[Step, ...] = ()
    line: int = 0  # line of the source document the row came from
    key: str = ""  # stable key (assistant/data/keys.py): survives renumbering, moves and rewording across years

    def steps_of(self, side: Side) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.side == side)

    @property
    def citation(self) -> str:
        """How people cite it: `配合履职事项 第19项 · 文明养犬管理工作`."""
        return f"{self.list.zh} 第{self.number}项 · {self.title}"

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "key": self.key,
            "list": self.list.value,
            "number": self.number,
            "category": self.category,
            "title": self.title,
            "departments": list(self.departments),
            "steps": [s.to_json() for s in self.steps],
            "line": self.line,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Duty":
        return cls(
            id=data["id"],
            list=ListKind(data["list"]),
            number=int(data["number"]),
            category=data["category"],
            title=data["title"],
            departments=tuple(data.get("departments", ())),
            steps=tuple(Step.from_json(s) for s in data.get("steps", ())),
            line=int(data.get("line", 0)),
            key=str(data.get("key") or ""),
        )


def duty_id(kind: ListKind, number: int) -> str:
    return f"{kind.value}-{number}"


@dataclass(frozen=True)
class Department:
    """A county (or prefecture / national) body named in the list."""

    name: str  # canonical full name, e.g. 奇台县公安局
    short: tuple[str, ...] = ()  # forms staff use and the list's steps use: 县公安局, 公安局
    aliases: tuple[str, ...] = ()  # hand-kept: 派出所, 警察, police …
    en: str = ""  # English name

    @property
    def display(self) -> str:
        """The way staff say it, for answers: 县公安局."""
        return self.short[0] if self.short else self.name

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.short, *self.aliases)


@dataclass(frozen=True)
class Unit:
    """One retrieval unit: a piece of text that points to its duty (and step, if any)."""

    duty_id: str
    kind: str  # duty | step | clause | question
    text: str  # what is embedded
    step: int | None = None  # Step.order within the duty


@dataclass(frozen=True)
class OutsideQuestion:
    """A question about a matter no duty of the list holds (data/outside_questions.jsonl), and where people
    usually take it. A question close to these is evidence that the list does not cover it."""

    question: str
    matter: str  # the matter, in a few words (离婚登记)
    office: str  # where people usually go for it (县民政局婚姻登记处): general knowledge, not the list's
    lang: str = "zh"


@dataclass
class Evidence:
    """A unit that matched, and how well."""

    unit: Unit
    score: float


@dataclass
class Hit:
    """A duty returned for a question, with its score and evidence."""

    duty: Duty
    score: float
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def matched_steps(self) -> list[int]:
        seen: list[int] = []
        for ev in self.evidence:
            if ev.unit.step is not None and ev.unit.step not in seen:
                seen.append(ev.unit.step)
        return seen
