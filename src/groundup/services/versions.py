"""A person's program history, stored as changes.

Every program version is still a row of `program_versions` (its number, cause, phase, the
decision that made it), but only some rows hold the whole program:

- the newest two versions (the newest is what every page and the engine read, and it is
  rewritten after each event with the engine's bookkeeping; the one before it is the base
  the next change is taken against);
- checkpoints: the plan, every override, every version that starts a phase, and one in
  every CHECKPOINT_EVERY versions.

Any other row holds only `changes`: how to turn the *next* version's program into its own
(changes run backwards, from the newer to the older). A version is rebuilt from the
nearest full row after it by applying the changes of the rows in between, newest first;
rebuilt programs are the stored JSON exactly (types, numbers, dates and key order of the
values a version changed).

A version's row turns into changes only when two newer versions exist: then neither it
nor the next one will be written again, so the changes between them are final.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, null, select, update
from sqlalchemy.orm import Session

from groundup.storage.models import ProgramVersion

# At most this many versions in a row are stored as changes, so that rebuilding one
# applies at most this many changes.
CHECKPOINT_EVERY = 16
FULL_CAUSES = ("plan", "override")


# ----- changes between two JSON values ------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON, type for type (1 and 1.0, 1 and true, differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def diff(base: Any, target: Any) -> Any:
    """The changes that turn `base` into `target` (both plain JSON values):

    - ``{"=": value}``: the value is replaced;
    - ``{"o": {key: changes}, "-": [keys]}``: a mapping whose named keys change (a key
      new to the base is added at its end) and whose listed keys go;
    - ``{"l": {index: changes}}``: a list of the same length whose named items change;
    - ``{"s": [start, stop, [values]]}``: a list whose items start..stop are replaced.
    """
    if isinstance(base, dict) and isinstance(target, dict):
        changed = {k: diff(base[k], v) for k, v in target.items() if k in base}
        out: dict[str, Any] = {
            "o": {k: c for k, c in changed.items() if c is not None}
            | {k: {"=": v} for k, v in target.items() if k not in base}
        }
        gone = [k for k in base if k not in target]
        if gone:
            out["-"] = gone
        if not out["o"] and not gone:
            return None
        if list(target) != [k for k in base if k in target] + [k for k in target if k not in base]:
            return {"=": target}  # keys in another order: keep the order as it was
        return out
    if isinstance(base, list) and isinstance(target, list):
        if len(base) == len(target):
            items = {str(i): diff(a, b) for i, (a, b) in enumerate(zip(base, target, strict=True))}
            items = {i: c for i, c in items.items() if c is not None}
            return {"l": items} if items else None
        start = 0
        while start < min(len(base), len(target)) and _same(base[start], target[start]):
            start += 1
        end = 0
        while end < min(len(base), len(target)) - start and _same(
            base[len(base) - 1 - end], target[len(target) - 1 - end]
        ):
            end += 1
        return {"s": [start, len(base) - end, target[start : len(target) - end]]}
    return None if _same(base, target) else {"=": target}


def apply(base: Any, changes: Any) -> Any:
    """`base` with `changes` (from `diff`) made; `base` itself is left as it is."""
    if changes is None:
        return base
    if "=" in changes:
        return changes["="]
    if "o" in changes:
        gone = set(changes.get("-", ()))
        out = {k: v for k, v in base.items() if k not in gone}
        for key, change in changes["o"].items():
            out[key] = apply(base.get(key), change)
        return out
    if "l" in changes:
        items = list(base)
        for index, change in changes["l"].items():
            items[int(index)] = apply(items[int(index)], change)
        return items
    start, stop, values = changes["s"]
    return [*base[:start], *values, *base[stop:]]


# ----- the newest version of each person ------------------------------------------------------


def newest_versions(patient_ids: Sequence[str] | Select[Any] | None = None) -> Any:
    """A subquery of (patient_id, version) of each person's newest program version: the one
    way to find it, joined back to `program_versions` for its columns."""
    query = select(
        ProgramVersion.patient_id.label("patient_id"),
        func.max(ProgramVersion.version).label("version"),
    ).group_by(ProgramVersion.patient_id)
    if patient_ids is not None:
        query = query.where(ProgramVersion.patient_id.in_(patient_ids))
    return query.subquery("newest")


# ----- storing and rebuilding ----------------------------------------------------------------


@dataclass(frozen=True)
class StoredVersion:
    """One program version as the history tells it: the whole program, rebuilt if needed."""

    id: int
    version: int
    cause: str
    phase: str
    decision_id: int | None
    data: dict[str, Any]


def add_version(
    session: Session,
    patient_id: str,
    data: dict[str, Any],
    *,
    version: int,
    cause: str,
    phase: str,
    decision_id: int | None = None,
) -> None:
    """Store a new newest version (whole) and turn the version two before it into changes
    unless it is a checkpoint."""
    previous = session.execute(
        select(
            ProgramVersion.id,
            ProgramVersion.version,
            ProgramVersion.phase,
            ProgramVersion.checkpoint,
        )
        .where(ProgramVersion.patient_id == patient_id, ProgramVersion.version < version)
        .order_by(ProgramVersion.version.desc())
        .limit(CHECKPOINT_EVERY + 2)
    ).all()
    since_checkpoint = next((n for n, row in enumerate(previous) if row.checkpoint), len(previous))
    checkpoint = (
        not previous
        or cause in FULL_CAUSES
        or previous[0].phase != phase
        or since_checkpoint + 1 >= CHECKPOINT_EVERY
    )
    session.add(
        ProgramVersion(
            patient_id=patient_id,
            version=version,
            cause=cause,
            decision_id=decision_id,
            phase=phase,
            data=data,
            checkpoint=checkpoint,
        )
    )
    if len(previous) >= 2 and not previous[1].checkpoint:
        older, newer = previous[1], previous[0]
        texts: dict[int, Any] = dict(
            session.execute(
                select(ProgramVersion.id, ProgramVersion.data).where(
                    ProgramVersion.id.in_([older.id, newer.id])
                )
            ).all()
        )
        if texts.get(older.id) is not None and texts.get(newer.id) is not None:
            session.execute(
                update(ProgramVersion)
                .where(ProgramVersion.id == older.id)
                .values(data=null(), changes=diff(texts[newer.id], texts[older.id]) or {"o": {}})
            )


def _rebuild(rows: Sequence[Any]) -> list[StoredVersion]:
    """Rows (id, version, cause, phase, decision_id, data, changes) in descending version
    order, starting at a full row, as whole programs (same order)."""
    out: list[StoredVersion] = []
    program: Any = None
    for row in rows:
        if row.data is not None:
            program = row.data
        else:
            if program is None:
                raise ValueError(f"program version {row.version} cannot be rebuilt")
            program = apply(program, row.changes)
        out.append(
            StoredVersion(row.id, row.version, row.cause, row.phase, row.decision_id, program)
        )
    return out


_COLUMNS = (
    ProgramVersion.id,
    ProgramVersion.version,
    ProgramVersion.cause,
    ProgramVersion.phase,
    ProgramVersion.decision_id,
    ProgramVersion.data,
    ProgramVersion.changes,
)


def all_versions(session: Session, patient_id: str) -> list[StoredVersion]:
    """Every version, oldest first, each a whole program."""
    rows = session.execute(
        select(*_COLUMNS)
        .where(ProgramVersion.patient_id == patient_id)
        .order_by(ProgramVersion.version.desc())
    ).all()
    return list(reversed(_rebuild(rows)))


def one_version(session: Session, patient_id: str, version: int) -> StoredVersion | None:
    """One version, rebuilt from the nearest full row after it."""
    full = session.scalar(
        select(ProgramVersion.version)
        .where(
            ProgramVersion.patient_id == patient_id,
            ProgramVersion.version >= version,
            ProgramVersion.data.is_not(None),
        )
        .order_by(ProgramVersion.version)
        .limit(1)
    )
    if full is None:
        return None
    rows = session.execute(
        select(*_COLUMNS)
        .where(
            ProgramVersion.patient_id == patient_id,
            ProgramVersion.version >= version,
            ProgramVersion.version <= full,
        )
        .order_by(ProgramVersion.version.desc())
    ).all()
    found = _rebuild(rows)
    return found[-1] if found and found[-1].version == version else None


def compact(rows: Iterable[tuple[int, str, str, bool, Any]]) -> list[tuple[bool, Any]]:
    """For a migration: (version, cause, phase, _, whole program) of one person, oldest
    first, to (checkpoint, what to store: the whole program or its changes)."""
    listed = list(rows)
    out: list[tuple[bool, Any]] = []
    since = 0
    for n, (_version, cause, phase, _, data) in enumerate(listed):
        checkpoint = (
            n == 0
            or cause in FULL_CAUSES
            or listed[n - 1][2] != phase
            or since + 1 >= CHECKPOINT_EVERY
        )
        since = 0 if checkpoint else since + 1
        if checkpoint or n >= len(listed) - 2:
            out.append((checkpoint, data))
        else:
            out.append((False, diff(listed[n + 1][4], data)))
    return out
