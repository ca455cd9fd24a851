"""The audit trail: who read or changed which record, when, and from where.

Every audit line (a change's, written in the change's own transaction, and a read's,
queued by `Database.audit_read`) takes its "who" and "from where" from the request it
belongs to: the web app opens an `AuditContext` per request with the client's address and
fills in the account once it knows it. Outside a request (the command line, the demo) the
services' own actor name stands.

Admins search the trail and download it as CSV (`search`, `as_csv`). It holds ids and
actions, never health data: details are dates, ids and kinds of action.
"""

from __future__ import annotations

import contextvars
import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select

from groundup.clinical.text import clean_text, spreadsheet_text
from groundup.storage.database import Database
from groundup.storage.models import AuditEntry


@dataclass
class AuditContext:
    """Who is acting in this request, and from where (filled in as the request goes)."""

    address: str = ""
    user_id: int | None = None
    label: str | None = None


_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar(
    "groundup_audit_context", default=None
)


def begin(address: str) -> contextvars.Token[AuditContext | None]:
    """Open the context of one request (the web app's middleware does)."""
    return _current.set(AuditContext(address=clean_text(address)[:64]))


def end(mark: contextvars.Token[AuditContext | None]) -> None:
    _current.reset(mark)


def identify(user_id: int, label: str) -> None:
    """The request's account is known: its lines name it."""
    context = _current.get()
    if context is not None:
        context.user_id = user_id
        context.label = clean_text(label)[:120]


def current() -> AuditContext | None:
    return _current.get()


def line(actor: str, patient_id: str | None, action: str, detail: str = "") -> dict[str, object]:
    """The values of one audit line, with who and where from the request, if any."""
    context = _current.get()
    return {
        "actor": clean_text(context.label if context and context.label else actor)[:120],
        "user_id": context.user_id if context else None,
        "address": context.address if context else "",
        "patient_id": patient_id,
        "action": action[:32],
        "detail": clean_text(detail)[:2000],
    }


# ----- reading the trail (admins) ----------------------------------------------------------


@dataclass(frozen=True)
class AuditQuery:
    """What an admin looks for; every part optional."""

    text: str = ""  # in the actor, the record id, the action or the detail
    user_id: int | None = None
    patient_id: str = ""
    action: str = ""
    address: str = ""
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive


@dataclass(frozen=True)
class AuditLine:
    id: int
    at: dt.datetime
    actor: str
    user_id: int | None
    address: str
    patient_id: str | None
    action: str
    detail: str


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(query: AuditQuery) -> Select[Any]:
    statement = select(AuditEntry)
    if query.text:
        pattern = _like(query.text.lower())
        statement = statement.where(
            or_(
                func.lower(AuditEntry.actor).like(pattern, escape="\\"),
                func.lower(AuditEntry.patient_id).like(pattern, escape="\\"),
                func.lower(AuditEntry.action).like(pattern, escape="\\"),
                func.lower(AuditEntry.detail).like(pattern, escape="\\"),
            )
        )
    if query.user_id is not None:
        statement = statement.where(AuditEntry.user_id == query.user_id)
    if query.patient_id:
        statement = statement.where(AuditEntry.patient_id == query.patient_id)
    if query.action:
        statement = statement.where(AuditEntry.action == query.action)
    if query.address:
        statement = statement.where(AuditEntry.address == query.address)
    if query.since is not None:
        start = dt.datetime.combine(query.since, dt.time(), dt.UTC)
        statement = statement.where(AuditEntry.at >= start)
    if query.until is not None:
        stop = dt.datetime.combine(query.until + dt.timedelta(days=1), dt.time(), dt.UTC)
        statement = statement.where(AuditEntry.at < stop)
    return statement


def _line(row: AuditEntry) -> AuditLine:
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
    return AuditLine(
        row.id, at, row.actor, row.user_id, row.address, row.patient_id, row.action, row.detail
    )


def search(
    database: Database, query: AuditQuery, *, limit: int = 100, offset: int = 0
) -> tuple[list[AuditLine], int]:
    """The newest lines that match first, one page of them, and how many match in all."""
    database.flush_audit()  # reads queued a moment ago are part of the answer
    statement = _filtered(query)
    with database.reading() as session:
        total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = session.scalars(
            statement.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return [_line(r) for r in rows], int(total)


def actions(database: Database) -> list[str]:
    """Every kind of action in the trail, for the viewer's filter."""
    with database.reading() as session:
        return sorted(session.scalars(select(AuditEntry.action).distinct()).all())


CSV_COLUMNS = ("at", "actor", "user_id", "address", "patient_id", "action", "detail")
CSV_LIMIT = 100_000


def as_csv(database: Database, query: AuditQuery) -> tuple[bytes, int]:
    """The matching lines (newest first, at most CSV_LIMIT) as CSV, and how many."""
    lines, _ = search(database, query, limit=CSV_LIMIT)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for item in lines:
        writer.writerow(_csv_row(item))
    return buffer.getvalue().encode("utf-8"), len(lines)


def _csv_row(item: AuditLine) -> Sequence[object]:
    cells: list[object] = [
        item.at.isoformat(timespec="seconds"),
        item.actor,
        "" if item.user_id is None else item.user_id,
        item.address,
        item.patient_id or "",
        item.action,
        item.detail,
    ]
    # A spreadsheet must show every cell as written, never run it as a formula.
    return [spreadsheet_text(c) if isinstance(c, str) else c for c in cells]
