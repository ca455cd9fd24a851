"""The exercise library: what each exercise trains, how it is dosed and how it gets harder.

Exercises are values validated when the library is built. `ExerciseLibrary` checks the
whole set together: unique ids, ladder links that resolve and never loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from groundup.clinical.vocabulary import (
    DoseType,
    Equipment,
    Kind,
    Laterality,
    Muscle,
    Phase,
    Position,
    Role,
)

ID_PATTERN = r"^[a-z][a-z0-9_]*$"

# Every home has these: an exercise that needs only them is always possible.
HOUSEHOLD = frozenset({Equipment.NONE, Equipment.WALL, Equipment.CHAIR})
# What can add weight to an exercise.
LOAD_EQUIPMENT = frozenset(
    {Equipment.DUMBBELL, Equipment.BACKPACK, Equipment.ANKLE_WEIGHT, Equipment.MACHINE}
)


class Frozen(BaseModel):
    """Base for the core's immutable values: unknown fields are errors, nothing mutates."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Target(Frozen):
    muscle: Muscle
    role: Role


class Tempo(Frozen):
    """Seconds for each part of one repetition."""

    lowering: float = Field(ge=0, le=10, description="seconds to lower (eccentric)")
    bottom: float = Field(default=0, ge=0, le=10, description="pause at the bottom, seconds")
    lifting: float = Field(ge=0, le=10, description="seconds to lift (concentric)")
    top: float = Field(default=0, ge=0, le=10, description="hold at the top, seconds")

    @property
    def rep_seconds(self) -> float:
        return self.lowering + self.bottom + self.lifting + self.top

    def text(self) -> str:
        parts = [f"{self.lowering:g} s down"]
        if self.bottom:
            parts.append(f"{self.bottom:g} s pause")
        parts.append(f"{self.lifting:g} s up")
        if self.top:
            parts.append(f"{self.top:g} s hold")
        return ", ".join(parts)


class Dose(Frozen):
    """A default prescription: sets of an amount, in the unit of the exercise's dose type."""

    sets: int = Field(ge=1, le=10)
    amount: float = Field(gt=0, le=3600, description="reps, seconds, minutes or metres per set")
    range_low: float = Field(gt=0, le=3600, description="bottom of the working range")
    range_high: float = Field(gt=0, le=3600, description="top of the working range")
    rest_seconds: int = Field(ge=0, le=600)

    @model_validator(mode="after")
    def _range_holds_amount(self) -> Dose:
        if not self.range_low <= self.amount <= self.range_high:
            raise ValueError(
                f"default amount {self.amount:g} lies outside its range "
                f"{self.range_low:g}–{self.range_high:g}"
            )
        return self


class Knob(Frozen):
    """The exercise's own difficulty setting, e.g. how far the feet stand from the wall."""

    name: str = Field(min_length=3)
    unit: str | None = None
    levels: tuple[str, ...] | None = Field(
        default=None, description="ordered easiest to hardest, for a knob with named settings"
    )
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = Field(default=None, gt=0)
    default: float | str
    harder: Literal["increase", "decrease"] = "increase"
    easier_how: str = Field(min_length=3)
    harder_how: str = Field(min_length=3)
    positions: dict[str, Position] = Field(
        default_factory=dict,
        description="named settings that change the body position (e.g. standing), with "
        "the position they put the exercise in; the weight-bearing limit reads it (P2)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Knob:
        if self.levels is not None:
            if len(self.levels) < 2:
                raise ValueError("a knob with named levels needs at least two")
            if self.default not in self.levels:
                raise ValueError(f"default {self.default!r} is not one of the levels")
            unknown = set(self.positions) - set(self.levels)
            if unknown:
                raise ValueError(f"positions name settings that are not levels: {unknown}")
        else:
            if self.positions:
                raise ValueError("positions are given only for a knob with named levels")
            if self.minimum is None or self.maximum is None or self.step is None:
                raise ValueError("a numeric knob needs minimum, maximum and step")
            if not isinstance(self.default, int | float):
                raise ValueError("a numeric knob needs a numeric default")
            if not self.minimum <= self.default <= self.maximum:
                raise ValueError("knob default lies outside minimum–maximum")
        return self

    def harder_setting(self, current: float | str) -> float | str | None:
        """The next harder setting, or None at the hardest."""
        return self._shift(current, +1)

    def easier_setting(self, current: float | str) -> float | str | None:
        """The next easier setting, or None at the easiest."""
        return self._shift(current, -1)

    def _shift(self, current: float | str, direction: int) -> float | str | None:
        if self.levels is not None:
            if current not in self.levels:
                return None
            index = self.levels.index(str(current)) + direction
            return self.levels[index] if 0 <= index < len(self.levels) else None
        assert self.minimum is not None and self.maximum is not None and self.step is not None
        if isinstance(current, str):
            return None
        sign = direction if self.harder == "increase" else -direction
        value = round(current + sign * self.step, 3)
        return value if self.minimum <= value <= self.maximum else None

    def value_text(self, setting: float | str) -> str:
        """The setting alone, with its unit: "45 cm", "standing" (P14)."""
        if isinstance(setting, str):
            return setting
        return f"{setting:g}{' ' + self.unit if self.unit else ''}"

    def describe(self, setting: float | str) -> str:
        return f"{self.name}: {self.value_text(setting)}"


class Fault(Frozen):
    id: str = Field(pattern=ID_PATTERN)
    text: str = Field(min_length=5)
    fix: str = Field(min_length=5)


class Exercise(Frozen):
    """One exercise of the library."""

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=3)
    aliases: tuple[str, ...] = ()
    summary: str = Field(min_length=10, description="what it is and why, in plain words")
    kind: Kind
    targets: tuple[Target, ...] = Field(min_length=1)
    phases: tuple[Phase, ...] = Field(min_length=1)
    position: Position
    equipment: tuple[Equipment, ...] = Field(min_length=1)
    laterality: Laterality
    dose_type: DoseType
    dose: Dose
    tempo: Tempo | None = None
    max_lowering_seconds: float | None = Field(
        default=None, ge=1, le=10, description="slowest lowering the ladder asks for"
    )
    knob: Knob | None = None
    loadable: bool = Field(default=False, description="external load can be added")
    default_load_kg: float | None = Field(default=None, ge=0, le=200)
    load_with: tuple[Equipment, ...] = Field(
        default=(),
        description="what adds its load when its own equipment does not (any one of them); "
        "empty: any weight (dumbbell, backpack, ankle weight, machine)",
    )
    steps: tuple[str, ...] = Field(min_length=1, description="how to do it, step by step")
    cues: tuple[str, ...] = Field(min_length=1)
    faults: tuple[Fault, ...] = ()
    cautions: tuple[str, ...] = ()
    regression: str | None = Field(default=None, pattern=ID_PATTERN)
    progression: str | None = Field(default=None, pattern=ID_PATTERN)
    single_leg_version: str | None = Field(
        default=None, pattern=ID_PATTERN, description="the one-leg form of a two-leg exercise"
    )
    sources: tuple[str, ...] = Field(min_length=1)

    def position_at(self, setting: float | str | None) -> Position:
        """The body position at this setting of the knob: the exercise's own, unless the
        setting is one that changes it (e.g. toe yoga done standing)."""
        if self.knob is None or setting is None:
            return self.position
        return self.knob.positions.get(str(setting), self.position)

    @field_validator("phases", "equipment")
    @classmethod
    def _no_repeats(cls, value: tuple[object, ...]) -> tuple[object, ...]:
        if len(set(value)) != len(value):
            raise ValueError("lists an item twice")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Exercise:
        muscles = [t.muscle for t in self.targets]
        if len(set(muscles)) != len(muscles):
            raise ValueError("lists a muscle twice in targets")
        if self.dose_type is DoseType.REPS and self.tempo is None:
            raise ValueError("a reps exercise needs a tempo")
        if self.max_lowering_seconds is not None and (
            self.tempo is None or self.max_lowering_seconds < self.tempo.lowering
        ):
            raise ValueError("max_lowering_seconds must be at least the tempo's lowering time")
        if self.default_load_kg is not None and not self.loadable:
            raise ValueError("default_load_kg given for an exercise that is not loadable")
        if self.regression == self.id or self.progression == self.id:
            raise ValueError("an exercise cannot be its own regression or progression")
        if self.single_leg_version is not None and self.laterality is Laterality.ONE_LEG:
            raise ValueError("a one-leg exercise cannot have a single-leg version")
        return self

    @property
    def muscles(self) -> frozenset[Muscle]:
        return frozenset(t.muscle for t in self.targets)

    @property
    def trained_muscles(self) -> frozenset[Muscle]:
        """Muscles the exercise strengthens (not merely stretches or steadies)."""
        return frozenset(
            t.muscle for t in self.targets if t.role in (Role.PRIME_MOVER, Role.SYNERGIST)
        )

    @property
    def prime_movers(self) -> frozenset[Muscle]:
        return frozenset(t.muscle for t in self.targets if t.role is Role.PRIME_MOVER)

    def load_at_hand(self, available: Iterable[Equipment]) -> bool:
        """Weight can be added with what the person has (R1): the exercise's own equipment
        is a weight, or one of `load_with` (else any weight) is at hand."""
        if not self.loadable:
            return False
        if set(self.equipment) & LOAD_EQUIPMENT:
            return True
        return bool(set(self.load_with or LOAD_EQUIPMENT) & set(available))

    def needs_only(self, available: Iterable[Equipment]) -> bool:
        """True when every piece of equipment is at hand (a wall and a chair always are)."""
        have = set(available) | HOUSEHOLD
        return set(self.equipment) <= have


class LibraryError(ValueError):
    """The library as a whole is inconsistent."""


class ExerciseLibrary(Mapping[str, Exercise]):
    """All exercises, checked together: ids unique, links resolve, ladders never loop."""

    def __init__(self, exercises: Iterable[Exercise]) -> None:
        by_id: dict[str, Exercise] = {}
        for exercise in exercises:
            if exercise.id in by_id:
                raise LibraryError(f"exercise id {exercise.id!r} appears twice")
            by_id[exercise.id] = exercise
        self._by_id = by_id
        self._check_links()

    def _check_links(self) -> None:
        for exercise in self._by_id.values():
            for field in ("regression", "progression", "single_leg_version"):
                target = getattr(exercise, field)
                if target is not None and target not in self._by_id:
                    raise LibraryError(
                        f"{exercise.id}: {field} points to unknown exercise {target!r}"
                    )
        for start in self._by_id.values():
            for direction in ("regression", "progression"):
                seen = {start.id}
                current: Exercise | None = start
                while current is not None:
                    nxt = getattr(current, direction)
                    if nxt is None:
                        break
                    if nxt in seen:
                        raise LibraryError(f"{start.id}: the {direction} ladder loops at {nxt!r}")
                    seen.add(nxt)
                    current = self._by_id[nxt]

    def __getitem__(self, key: str) -> Exercise:
        return self._by_id[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def find(self, name_or_id: str) -> Exercise | None:
        """Look an exercise up by id, name or alias (case-insensitive)."""
        if name_or_id in self._by_id:
            return self._by_id[name_or_id]
        wanted = name_or_id.strip().lower()
        for exercise in self._by_id.values():
            if exercise.name.lower() == wanted or wanted in (a.lower() for a in exercise.aliases):
                return exercise
        return None

    def select(
        self,
        *,
        muscle: Muscle | None = None,
        phase: Phase | None = None,
        equipment: Iterable[Equipment] | None = None,
        position: Position | None = None,
        kind: Kind | None = None,
    ) -> list[Exercise]:
        """Exercises matching every given filter, in id order."""
        have = None if equipment is None else list(equipment)
        chosen = [
            e
            for e in self._by_id.values()
            if (muscle is None or muscle in e.muscles)
            and (phase is None or phase in e.phases)
            and (have is None or e.needs_only(have))
            and (position is None or e.position is position)
            and (kind is None or e.kind is kind)
        ]
        return sorted(chosen, key=lambda e: e.id)

    def ladder(self, exercise_id: str) -> list[Exercise]:
        """The whole ladder through an exercise, easiest first."""
        exercise = self._by_id[exercise_id]
        down: list[Exercise] = []
        current = exercise
        while current.regression is not None:
            current = self._by_id[current.regression]
            down.append(current)
        up: list[Exercise] = []
        current = exercise
        while current.progression is not None:
            current = self._by_id[current.progression]
            up.append(current)
        return [*reversed(down), exercise, *up]
