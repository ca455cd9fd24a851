"""The use cases. Each opens a transaction, loads, calls the clinical core, and commits.

The command line and the web app call these; neither touches the database directly.
Every write locks the person's row first, so two writers for one person queue up (on
PostgreSQL; SQLite serialises writers anyway) and events get a gap-free arrival number.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel, ValidationError
from sqlalchemy import Text, bindparam, cast, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from groundup.clinical.assessment import Assessment
from groundup.clinical.exercises import Exercise
from groundup.clinical.intake import score_questionnaires
from groundup.clinical.logs import RECHECK_REASON, CheckIn, Override, Retest, SessionLog
from groundup.clinical.outcomes import OutcomeError
from groundup.clinical.overrides import exercise_misfit, override_problem, swap_suggestions
from groundup.clinical.pathways import load_restriction
from groundup.clinical.planning import PlanningError, ReferralError, plan
from groundup.clinical.profile import build_profile
from groundup.clinical.program import Preferences, Program, Slot
from groundup.clinical.progression import Decision, HistoryEvent, advance
from groundup.clinical.rules import Rules
from groundup.clinical.screening import ScreenAnswers, ScreenResult, screen
from groundup.clinical.text import clean_text, first_unstorable, text_problem
from groundup.clinical.vocabulary import Kind
from groundup.knowledge import load_screening_rules
from groundup.services import audit, records, versions
from groundup.services.export import EXPORT_FORMAT, EXPORT_VERSION, ExportBundle
from groundup.storage.database import Database
from groundup.storage.models import (
    AssessmentRecord,
    AuditEntry,
    CheckInRecord,
    ClinicianPatient,
    ClinicMember,
    DecisionRecord,
    OverrideRecord,
    Patient,
    ProgramVersion,
    ScheduledSession,
    ScreenRecord,
    SessionDraftRecord,
    SessionLogRecord,
    User,
)

if TYPE_CHECKING:
    from groundup.services.clinics import Clinics
    from groundup.services.library import OwnLibrary

SCHEDULE_AHEAD_DAYS = 28
# How many events a process keeps parsed (Services.history_in), over the people read last:
# a parsed session of 25 sets takes about 25 kB, a check-in well under 1 kB, so this is at
# most about 250 MB when every event is a session and about half that in daily use.
HISTORY_CACHE_EVENTS = 20_000
# No record groundup keeps can be older than this: a year before it is a typing mistake.
EARLIEST_DATE = dt.date(2000, 1, 1)
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y")
# The kind of assessment record that holds only the questionnaires the person answered.
QUESTIONNAIRES = "questionnaires"


class ServiceError(ValueError):
    """A request that cannot be carried out; the message says why, in plain words."""


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class UnstorableText(ServiceError):
    """Text that cannot be stored (`groundup.clinical.text`): `field` says where it is."""

    def __init__(self, field: str, problem: str, what: str = "") -> None:
        super().__init__(f"{what}{clean_text(field)[:120]}: {problem}")
        self.field = field


def check_storable(value: Any, what: str = "") -> None:
    """Refuse (UnstorableText) plain data or a model holding text that cannot be stored.

    Every use case that stores what it is given calls this first, so the rule holds
    whichever door the data came through (the API, a page, the command line, an import).
    """
    data = value.model_dump(mode="python") if isinstance(value, BaseModel) else value
    found = first_unstorable(data)
    if found is not None:
        raise UnstorableText(found[0], found[1], what)


def check_date(day: dt.date, today: dt.date, what: str) -> None:
    """A date a record can carry: not in the future and not before EARLIEST_DATE."""
    if day > today:
        raise ServiceError(f"the {what} date {day.isoformat()} is in the future")
    if day < EARLIEST_DATE:
        raise ServiceError(
            f"the {what} date {day.isoformat()} is before {EARLIEST_DATE.isoformat()}: "
            "check the year"
        )


class OverrideRefused(ServiceError):
    """An override the program cannot take (`clinical.overrides`): `field` says which part."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def _rule_refusal(override: Override, switchable: Sequence[str]) -> str:
    way = "off" if override.action == "rule_off" else "on"
    return (
        f"rule {clean_text(override.rule or '')[:64]!r} cannot be switched {way}: only these "
        f"can: {', '.join(switchable)} (safety rules and referrals stay on)"
    )


class Paused(Conflict):
    """The program is paused after a referral: nothing is logged until a clinician resumes it."""

    def __init__(self, advice: str) -> None:
        super().__init__(
            "your program is paused until a clinician resumes it, so no session can be "
            f"logged. {advice}"
        )
        self.advice = advice


PAUSED_ADVICE = "Please see a doctor or physiotherapist before you carry on."


class Referred(ServiceError):
    """The safety screen refers: no program."""

    def __init__(self, result: ScreenResult) -> None:
        super().__init__("the safety screen refers: see a doctor first; no program was made")
        self.result = result


@dataclass(frozen=True)
class Today:
    """What the person should do on a day."""

    day: dt.date
    program: Program
    scheduled: bool
    status: str  # planned, done, skipped, rest
    numbers: tuple[int, ...]  # which sessions of the day are still to do

    @property
    def slots(self) -> tuple[Slot, ...]:
        return self.program.slots


@dataclass(frozen=True)
class LogOutcome:
    decisions: tuple[Decision, ...]
    duplicate: bool
    program: Program


@dataclass(frozen=True)
class PatientSummary:
    """One line of a list of people: their program's newest version and last session."""

    id: str
    display_name: str
    phase: str | None
    version: int | None
    last_activity: dt.date | None
    has_account: bool = False


class Display(NamedTuple):
    """How a person likes lengths, weights and dates shown."""

    length_unit: str
    mass_unit: str
    date_format: str


@dataclass(frozen=True)
class PersonDetails:
    """Who a person is and how they like things shown."""

    id: str
    display_name: str
    display: Display
    has_account: bool


@lru_cache(maxsize=512)
def _parse_program(text: str) -> Program:
    """A stored program from its JSON text. Programs are immutable values, so one parsed
    copy serves every request that reads the same text."""
    return Program.model_validate_json(text)


# Built once: building a statement costs more than running it on the most frequent reads.
_NEWEST_PROGRAM = (
    select(cast(ProgramVersion.data, Text))
    .where(ProgramVersion.patient_id == bindparam("patient_id"))
    .order_by(ProgramVersion.version.desc())
    .limit(1)
)
_DAY_SESSIONS = select(ScheduledSession.number, ScheduledSession.status).where(
    ScheduledSession.patient_id == bindparam("patient_id"),
    ScheduledSession.date == bindparam("day"),
)


class Services:
    """groundup's use cases over one database."""

    def __init__(
        self,
        database: Database,
        rules: Rules,
        *,
        actor: str = "system",
        clock: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.db = database
        self.rules = rules
        self.actor = actor
        self.clock = clock
        self._own: OwnLibrary | None = None
        # patient id -> ((id, created_at), events kept, (arrival, event) ...): see _history
        self._history_cache: OrderedDict[
            str, tuple[tuple[str, dt.datetime], int, tuple[tuple[int, HistoryEvent], ...]]
        ] = OrderedDict()
        self._history_lock = threading.Lock()
        self._history_kept = 0  # events in _history_cache

    # ----- helpers -------------------------------------------------------------------

    def audit_in(
        self, session: Session, patient_id: str | None, action: str, detail: str = ""
    ) -> None:
        """Write an audit line of a change in the change's own transaction."""
        session.execute(
            insert(AuditEntry).values(audit.line(self.actor, patient_id, action, detail))
        )

    def audit_read(self, patient_id: str, action: str, detail: str = "") -> None:
        """The audit line of a read: queued and written within a fraction of a second
        (`Database.audit_read`), so that reading writes nothing itself."""
        self.db.audit_read(audit.line(self.actor, patient_id, action, detail))

    def rules_for(self, patient_id: str, session: Session | None = None) -> Rules:
        """The rules for one person: the built-in ones plus their clinicians' own
        exercises and protocols (`services.library`); the core is handed these."""
        from groundup.services.library import rules_for_patient

        if session is not None:
            return rules_for_patient(session, self.rules, patient_id)
        with self.db.reading() as reading:
            return rules_for_patient(reading, self.rules, patient_id)

    @property
    def own(self) -> OwnLibrary:
        """Clinicians' own exercises and protocols (`services.library.OwnLibrary`)."""
        from groundup.services.library import OwnLibrary

        if self._own is None:
            self._own = OwnLibrary(self.db, self.rules)
        return self._own

    @property
    def clinics(self) -> Clinics:
        """Clinics, their members and caseloads (`services.clinics.Clinics`)."""
        from groundup.services.clinics import Clinics

        return Clinics(self)

    def own_photos(self, exercise_ids: Sequence[str]) -> dict[str, str]:
        """{exercise id: photo key} for own exercises with an uploaded photo."""
        from groundup.services.library import photos_for

        wanted = [i for i in exercise_ids if i not in self.rules.library]
        if not wanted:
            return {}
        with self.db.reading() as session:
            return photos_for(session, wanted)

    def patient_in(self, session: Session, patient_id: str, *, lock: bool = False) -> Patient:
        """The person's record in a transaction (locked for writing with `lock`)."""
        query = select(Patient).where(Patient.id == patient_id)
        if lock:
            query = query.with_for_update()
        patient = session.scalars(query).first()
        if patient is None:
            raise NotFound(f"no person with id {patient_id!r}")
        return patient

    def _has_program(self, session: Session, patient_id: str) -> bool:
        return (
            session.scalar(
                select(ProgramVersion.version)
                .where(ProgramVersion.patient_id == patient_id)
                .limit(1)
            )
            is not None
        )

    def program_in(self, session: Session, patient_id: str) -> Program:
        """The program in force, in a transaction."""
        # The stored JSON's text, parsed and validated in one step.
        session.flush()  # what the session holds first, as its own queries would (cheap when clean)
        text = session.connection().scalar(_NEWEST_PROGRAM, {"patient_id": patient_id})
        if text is None:
            self.patient_in(session, patient_id)  # no such person, or no program yet
            raise NotFound("there is no program yet: do the screen and the assessment first")
        return _parse_program(text)

    def history_in(self, session: Session, patient_id: str) -> list[HistoryEvent]:
        """Every event in the order it arrived, in a transaction.

        Stored events never change and arrive with gap-free numbers under the person's
        lock, so the events read once are kept (per process, up to HISTORY_CACHE_EVENTS of
        the people read last) and only those that arrived since are read again. Only events older
        than the newest are kept: the newest may be this transaction's own, not yet
        committed; any older one was committed before the newest could be numbered."""
        person = session.execute(
            select(Patient.events, Patient.created_at).where(Patient.id == patient_id)
        ).first()
        if person is None:
            return [event for _, event in self._read_events(session, patient_id, 0)]
        key = (patient_id, person.created_at)
        with self._history_lock:
            cached = self._history_cache.get(patient_id)
            if cached is not None and cached[0] == key and cached[1] <= (person.events or 0):
                self._history_cache.move_to_end(patient_id)
            else:
                cached = None
        known: list[tuple[int, HistoryEvent]] = list(cached[2]) if cached else []
        after = cached[1] if cached else 0
        events = known + self._read_events(session, patient_id, after)
        events.sort(key=lambda pair: pair[0])
        arrivals = [arrival for arrival, _ in events]
        total = person.events or 0
        if arrivals == list(range(1, len(arrivals) + 1)) and len(arrivals) == total:
            keep = events[: max(0, total - 1)]
            with self._history_lock:
                old = self._history_cache.pop(patient_id, None)
                self._history_kept -= old[1] if old else 0
                if len(keep) <= HISTORY_CACHE_EVENTS:
                    self._history_cache[patient_id] = (key, len(keep), tuple(keep))
                    self._history_kept += len(keep)
                while self._history_kept > HISTORY_CACHE_EVENTS:
                    _, (_, dropped, _) = self._history_cache.popitem(last=False)
                    self._history_kept -= dropped
        return [event for _, event in events]

    def _read_events(
        self, session: Session, patient_id: str, after: int
    ) -> list[tuple[int, HistoryEvent]]:
        """(arrival, event) of the events that arrived after number `after` (all, with
        events from before arrival numbers, when it is 0)."""
        events: list[tuple[int, HistoryEvent]] = []

        def since(column: Any) -> Any:
            return column > after if after else True

        # Plain rows, not records, and each session from its stored JSON in one step.
        logs = session.execute(
            select(*records.SESSION_COLUMNS).where(
                SessionLogRecord.patient_id == patient_id, since(SessionLogRecord.arrival)
            )
        ).all()
        events += [(r.arrival or 0, SessionLog.model_validate_json(r.text)) for r in logs]
        checkins = session.scalars(
            select(CheckInRecord).where(
                CheckInRecord.patient_id == patient_id, since(CheckInRecord.arrival)
            )
        ).all()
        events += [(r.arrival or 0, records.checkin_from_row(r)) for r in checkins]
        retests = session.scalars(
            select(AssessmentRecord).where(
                AssessmentRecord.patient_id == patient_id,
                AssessmentRecord.kind.in_(("retest", QUESTIONNAIRES)),
                since(AssessmentRecord.arrival),
            )
        ).all()
        events += [
            (
                r.arrival or 0,
                Retest(
                    date=r.date,
                    assessment=Assessment.model_validate(r.data),
                    questionnaires_only=r.kind == QUESTIONNAIRES,
                ),
            )
            for r in retests
        ]
        overrides = session.scalars(
            select(OverrideRecord).where(
                OverrideRecord.patient_id == patient_id, since(OverrideRecord.arrival)
            )
        ).all()
        events += [(r.arrival or 0, Override.model_validate(r.data)) for r in overrides]
        return events

    def _next_arrival(self, patient: Patient) -> int:
        patient.events = (patient.events or 0) + 1
        return patient.events

    def _save_version(
        self,
        session: Session,
        patient_id: str,
        program: Program,
        cause: str,
        decision_id: int | None = None,
    ) -> None:
        from groundup.services.library import pin_versions

        pin_versions(session, self.rules, patient_id, program)  # own exercises keep their version
        versions.add_version(
            session,
            patient_id,
            program.model_dump(mode="json"),
            version=program.version,
            cause=cause,
            phase=program.phase.value,
            decision_id=decision_id,
        )

    def _run_engine(
        self, session: Session, patient_id: str, program: Program, today: dt.date
    ) -> tuple[Program, tuple[Decision, ...]]:
        """Evaluate new events; store every decision and every program version it made."""
        history = self.history_in(session, patient_id)
        latest = max((e.date for e in history), default=today)
        rules = self.rules_for(patient_id, session)
        result = advance(program, history, rules, max(today, latest))
        for decision, step in zip(result.decisions, result.steps, strict=True):
            row = records.decision_to_row(patient_id, decision, step.version)
            session.add(row)
            if step.version != program.version:
                session.flush()  # the new version names the decision's id
                existing = session.scalars(
                    select(ProgramVersion).where(
                        ProgramVersion.patient_id == patient_id,
                        ProgramVersion.version == step.version,
                    )
                ).first()
                if existing is None:
                    cause = "override" if decision.kind == "override" else "decision"
                    self._save_version(session, patient_id, step, cause, row.id)
        final = result.program
        current = session.execute(  # its id and number: its stored program is not needed
            select(ProgramVersion.id, ProgramVersion.version)
            .where(ProgramVersion.patient_id == patient_id)
            .order_by(ProgramVersion.version.desc())
            .limit(1)
        ).first()
        if current is not None and current.version == final.version:
            # The last version gains the engine's bookkeeping (events evaluated).
            session.execute(
                update(ProgramVersion)
                .where(ProgramVersion.id == current.id)
                .values(data=final.model_dump(mode="json"))
            )
        elif current is None or current.version < final.version:
            self._save_version(session, patient_id, final, "decision")
        self._schedule(session, patient_id, final, today)
        return final, result.decisions

    def _schedule(
        self, session: Session, patient_id: str, program: Program, today: dt.date
    ) -> None:
        """Planned sessions for the coming weeks, from the program version in force."""
        start = max(program.start_date, today - dt.timedelta(days=7))
        wanted = {
            (day, number)
            for offset in range((today - start).days + SCHEDULE_AHEAD_DAYS + 1)
            if program.is_training_day(day := start + dt.timedelta(days=offset))
            for number in range(1, program.times_per_day + 1)
        }
        planned = ScheduledSession.status == "planned"
        ahead = (ScheduledSession.patient_id == patient_id, planned, ScheduledSession.date > today)
        # Planned days ahead that are no longer training days go; the others now follow
        # this version. (Rewriting only what changed: this runs after every event.)
        gone = [
            row_id
            for row_id, day, number in session.execute(
                select(ScheduledSession.id, ScheduledSession.date, ScheduledSession.number).where(
                    *ahead
                )
            )
            if (day, number) not in wanted
        ]
        if gone:
            session.execute(delete(ScheduledSession).where(ScheduledSession.id.in_(gone)))
        session.execute(
            update(ScheduledSession)
            .where(*ahead, ScheduledSession.program_version != program.version)
            .values(program_version=program.version)
        )
        taken = {
            (day, number)
            for day, number in session.execute(
                select(ScheduledSession.date, ScheduledSession.number).where(
                    ScheduledSession.patient_id == patient_id, ScheduledSession.date >= start
                )
            )
        }
        missing = [
            {
                "patient_id": patient_id,
                "date": day,
                "number": number,
                "program_version": program.version,
                "status": "planned",
            }
            for day, number in sorted(wanted - taken)
        ]
        if missing:
            session.execute(insert(ScheduledSession), missing)

    # The names these had before they were public; for code written against them (other
    # modules should use the public names).
    _audit = audit_in
    _patient = patient_in
    _program = program_in
    _history = history_in

    # ----- people --------------------------------------------------------------------

    def enrol(
        self,
        display_name: str,
        *,
        user_id: int | None = None,
        clinician_id: int | None = None,
        length_unit: str = "cm",
        mass_unit: str = "kg",
        date_format: str = "%Y-%m-%d",
    ) -> str:
        name = display_name.strip()
        if not 1 <= len(name) <= 120:
            raise ServiceError("a name of 1 to 120 characters is needed")
        problem = text_problem(name, one_line=True)
        if problem is not None:
            raise UnstorableText("display_name", problem)
        if length_unit not in ("cm", "in") or mass_unit not in ("kg", "lb"):
            raise ServiceError("units must be cm or in for length, kg or lb for weight")
        if date_format not in DATE_FORMATS:
            raise ServiceError(f"date format must be one of: {', '.join(DATE_FORMATS)}")
        patient_id = uuid.uuid4().hex
        with self.db.transaction() as session:
            clinic_id = (
                session.scalar(
                    select(ClinicMember.clinic_id).where(ClinicMember.user_id == clinician_id)
                )
                if clinician_id is not None
                else None
            )
            session.add(
                Patient(
                    id=patient_id,
                    display_name=name,
                    user_id=user_id,
                    length_unit=length_unit,
                    mass_unit=mass_unit,
                    date_format=date_format,
                    events=0,
                    clinic_id=clinic_id,  # the clinic of the clinician who enrols them
                )
            )
            if clinician_id is not None:
                session.flush()
                session.add(ClinicianPatient(clinician_id=clinician_id, patient_id=patient_id))
            self.audit_in(session, patient_id, "enrol")
        return patient_id

    def patients(self) -> list[PatientSummary]:
        """Everyone, in the order they were enrolled."""
        return self.summaries(None)

    def summaries(self, patient_ids: Sequence[str] | None) -> list[PatientSummary]:
        """The named people (everyone for None) in the order they were enrolled, in one
        query: each one's newest program version and phase, and their last session."""
        if patient_ids is not None and not patient_ids:
            return []
        newest = versions.newest_versions(patient_ids)
        last = select(
            SessionLogRecord.patient_id.label("patient_id"),
            func.max(SessionLogRecord.date).label("day"),
        ).group_by(SessionLogRecord.patient_id)
        if patient_ids is not None:
            last = last.where(SessionLogRecord.patient_id.in_(patient_ids))
        latest = last.subquery("last")
        query = (
            select(
                Patient.id,
                Patient.display_name,
                Patient.user_id,
                ProgramVersion.phase,
                ProgramVersion.version,
                latest.c.day,
            )
            .outerjoin(newest, newest.c.patient_id == Patient.id)
            .outerjoin(
                ProgramVersion,
                (ProgramVersion.patient_id == Patient.id)
                & (ProgramVersion.version == newest.c.version),
            )
            .outerjoin(latest, latest.c.patient_id == Patient.id)
            .order_by(Patient.created_at, Patient.id)
        )
        if patient_ids is not None:
            query = query.where(Patient.id.in_(patient_ids))
        with self.db.reading() as session:
            return [
                PatientSummary(
                    id=row.id,
                    display_name=row.display_name,
                    phase=row.phase,
                    version=row.version,
                    last_activity=row.day,
                    has_account=row.user_id is not None,
                )
                for row in session.execute(query)
            ]

    def display(self, patient_id: str) -> Display:
        """How the person likes lengths, weights and dates shown."""
        return self.person(patient_id).display

    def person(self, patient_id: str) -> PersonDetails:
        """Who the person is and how they like things shown (NotFound for nobody)."""
        with self.db.reading() as session:
            patient = self.patient_in(session, patient_id)
            return PersonDetails(
                patient.id,
                patient.display_name,
                Display(patient.length_unit, patient.mass_unit, patient.date_format),
                patient.user_id is not None,
            )

    def set_display(
        self, patient_id: str, length_unit: str, mass_unit: str, date_format: str
    ) -> None:
        if length_unit not in ("cm", "in") or mass_unit not in ("kg", "lb"):
            raise ServiceError("units must be cm or in for length, kg or lb for weight")
        if date_format not in DATE_FORMATS:
            raise ServiceError(f"date format must be one of: {', '.join(DATE_FORMATS)}")
        with self.db.transaction() as session:
            patient = self.patient_in(session, patient_id, lock=True)
            patient.length_unit, patient.mass_unit = length_unit, mass_unit
            patient.date_format = date_format
            self.audit_in(session, patient_id, "set_display", f"{length_unit}/{mass_unit}")

    # ----- screen, assessment, program -----------------------------------------------

    def record_screen(self, patient_id: str, answers: ScreenAnswers, day: dt.date) -> ScreenResult:
        check_storable(answers)
        check_date(day, self.clock(), "screen")
        result = screen(answers, load_screening_rules())
        with self.db.transaction() as session:
            self.patient_in(session, patient_id, lock=True)
            session.add(
                ScreenRecord(
                    patient_id=patient_id,
                    date=day,
                    answers=answers.model_dump(mode="json"),
                    result=result.model_dump(mode="json"),
                    refers=result.refers,
                    urgency=result.urgency.value if result.urgency else None,
                )
            )
            self.audit_in(
                session, patient_id, "screen"
            )  # no outcome: the trail holds no health data
        return result

    def latest_screen(self, patient_id: str) -> ScreenResult | None:
        with self.db.transaction() as session:
            self.patient_in(session, patient_id)
            row = session.scalars(
                select(ScreenRecord)
                .where(ScreenRecord.patient_id == patient_id)
                .order_by(ScreenRecord.id.desc())
                .limit(1)
            ).first()
            return ScreenResult.model_validate(row.result) if row else None

    def start_program(
        self,
        patient_id: str,
        assessment: Assessment,
        preferences: Preferences,
        *,
        day: dt.date,
        template: str | None = None,
        start: dt.date | None = None,
    ) -> Program:
        """Record the first assessment and build the program (refused if the screen refers).

        The program starts on `start` if given, else on the assessment's date (or `day`)."""
        check_storable(assessment)
        check_storable(preferences)
        result = self.latest_screen(patient_id)
        if result is None:
            raise ServiceError("do the safety screen first: no program without it")
        if assessment.date is None:
            assessment = assessment.model_copy(update={"date": day})
        assert assessment.date is not None
        check_date(assessment.date, self.clock(), "assessment")
        profile = build_profile(assessment, self.rules.assessment)
        scores = self._scores(assessment)
        try:
            program = plan(
                profile,
                preferences,
                self.rules_for(patient_id),
                screen=result,
                start=start or assessment.date or day,
                template=template,
                outcomes={k: v.value for k, v in scores.items() if v.valid and v.value is not None},
                assessment=assessment,
            )
        except ReferralError:
            raise Referred(result) from None
        except PlanningError as exc:
            raise ServiceError(str(exc)) from exc
        with self.db.transaction() as session:
            self.patient_in(session, patient_id, lock=True)
            if self._has_program(session, patient_id):
                raise Conflict(
                    "this person already has a program; record a retest instead of a new start"
                )
            session.add(
                AssessmentRecord(
                    patient_id=patient_id,
                    date=assessment.date or day,
                    kind="initial",
                    data=assessment.model_dump(mode="json"),
                    profile=profile.model_dump(mode="json"),
                    scores={k: v.model_dump(mode="json") for k, v in scores.items()},
                )
            )
            self._save_version(session, patient_id, program, "plan")
            self._schedule(session, patient_id, program, day)
            self.audit_in(session, patient_id, "start_program")
        return program

    def _scores(self, assessment: Assessment) -> dict[str, Any]:
        try:
            return score_questionnaires(assessment, self.rules.questionnaires)
        except OutcomeError as exc:
            raise ServiceError(f"questionnaire: {exc}") from exc

    def program(self, patient_id: str) -> Program:
        with self.db.reading() as session:
            self.patient_in(session, patient_id)
            program = self.program_in(session, patient_id)
            self.audit_read(patient_id, "read_program")
            return program

    def program_versions(self, patient_id: str) -> list[tuple[int, str, str, dt.datetime]]:
        with self.db.transaction() as session:
            self.patient_in(session, patient_id)
            rows = session.scalars(
                select(ProgramVersion)
                .where(ProgramVersion.patient_id == patient_id)
                .order_by(ProgramVersion.version)
            ).all()
            return [(r.version, r.cause, r.phase, r.created_at) for r in rows]

    def program_version(self, patient_id: str, version: int) -> Program:
        with self.db.transaction() as session:
            self.patient_in(session, patient_id)
            row = versions.one_version(session, patient_id, version)
            if row is None:
                raise NotFound(f"no program version {version}")
            return Program.model_validate(row.data)

    # ----- everyday use ---------------------------------------------------------------

    def today(self, patient_id: str, day: dt.date) -> Today:
        with self.db.reading() as session:
            program = self.program_in(session, patient_id)  # NotFound for nobody, too
            rows = (
                session.connection()
                .execute(_DAY_SESSIONS, {"patient_id": patient_id, "day": day})
                .all()
            )
            self.audit_read(patient_id, "read_today", day.isoformat())
            if not rows:
                scheduled = program.is_training_day(day)
                return Today(
                    day,
                    program,
                    scheduled,
                    "planned" if scheduled else "rest",
                    tuple(range(1, program.times_per_day + 1)) if scheduled else (),
                )
            open_numbers = tuple(r.number for r in rows if r.status == "planned")
            status = "planned" if open_numbers else rows[0].status
            return Today(day, program, True, status, open_numbers)

    def log_session(self, patient_id: str, log: SessionLog) -> LogOutcome:
        """Store a session and run the engine. Idempotent: the same log id twice is stored once."""
        check_storable(log)
        with self.db.transaction() as session:
            patient = self.patient_in(session, patient_id, lock=True)
            existing = session.scalars(
                select(SessionLogRecord).where(
                    SessionLogRecord.patient_id == patient_id, SessionLogRecord.log_id == log.id
                )
            ).first()
            if existing is not None:
                if existing.fingerprint != records.fingerprint(log):
                    raise Conflict(
                        f"log id {log.id!r} is already used for a different session; "
                        "use a new id for a new session"
                    )
                return LogOutcome((), True, self.program_in(session, patient_id))
            program = self.program_in(session, patient_id)
            if program.state.referred:
                raise Paused(self._referral_text(session, patient_id))
            self._check_day(log.date, program)
            self._check_signs(log.warning_signs)
            slot = session.scalars(
                select(ScheduledSession)
                .where(
                    ScheduledSession.patient_id == patient_id,
                    ScheduledSession.date == log.date,
                    ScheduledSession.status == "planned",
                )
                .order_by(ScheduledSession.number)
                .limit(1)
            ).first()
            if slot is None:
                logged = session.scalar(
                    select(ScheduledSession.session_log_id).where(
                        ScheduledSession.patient_id == patient_id,
                        ScheduledSession.date == log.date,
                        ScheduledSession.status != "planned",
                    )
                )
                if logged is not None:
                    raise Conflict(
                        f"the session on {log.date.isoformat()} is already logged (as "
                        f"{logged!r}); a retry sends that id again"
                    )
                days = ", ".join(
                    ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[d]
                    for d in program.training_days
                )
                raise NotFound(
                    f"no session is scheduled on {log.date.isoformat()} (or it is already "
                    f"logged); training days are {days}"
                )
            library = self.rules_for(patient_id, session).library
            unknown = [e.exercise_id for e in log.exercises if e.exercise_id not in library]
            if unknown:
                raise ServiceError(f"unknown exercise id {unknown[0]!r}")
            record = records.session_row(patient_id, log, program.version)
            record.arrival = self._next_arrival(patient)
            session.add(record)
            slot.status = "skipped" if log.skipped else "done"
            slot.session_log_id = log.id
            session.flush()
            session.execute(
                delete(SessionDraftRecord).where(
                    SessionDraftRecord.patient_id == patient_id,
                    SessionDraftRecord.date == log.date,
                )
            )
            final, decisions = self._run_engine(session, patient_id, program, log.date)
            self.audit_in(session, patient_id, "log_session", log.id)
            return LogOutcome(decisions, False, final)

    # ----- a session in progress ---------------------------------------------------------

    def save_draft(self, patient_id: str, day: dt.date, data: dict[str, Any]) -> None:
        """Keep the player's session in progress for that day (one per person and day)."""
        check_storable(data)
        with self.db.transaction() as session:
            self._patient(session, patient_id, lock=True)
            row = session.scalars(
                select(SessionDraftRecord).where(
                    SessionDraftRecord.patient_id == patient_id, SessionDraftRecord.date == day
                )
            ).first()
            if row is None:
                session.add(SessionDraftRecord(patient_id=patient_id, date=day, data=data))
            else:
                row.data = data

    def draft(self, patient_id: str, day: dt.date) -> dict[str, Any] | None:
        """The session in progress on that day, if one was left part-way."""
        with self.db.reading() as session:
            data = session.scalar(
                select(SessionDraftRecord.data).where(
                    SessionDraftRecord.patient_id == patient_id, SessionDraftRecord.date == day
                )
            )
            return dict(data) if data else None

    def drop_draft(self, patient_id: str, day: dt.date) -> None:
        with self.db.transaction() as session:
            session.execute(
                delete(SessionDraftRecord).where(
                    SessionDraftRecord.patient_id == patient_id, SessionDraftRecord.date == day
                )
            )

    def _check_signs(self, signs: Sequence[str]) -> None:
        known = self.rules.screening.checkin_signs
        unknown = [sign for sign in signs if sign not in known]
        if unknown:
            raise ServiceError(
                f"unknown warning sign {clean_text(unknown[0])[:64]!r}; "
                f"the signs are: {', '.join(known)}"
            )

    def _latest_referral(self, session: Session, patient_id: str) -> Decision | None:
        row = session.scalars(
            select(DecisionRecord)
            .where(DecisionRecord.patient_id == patient_id, DecisionRecord.kind == "refer")
            .order_by(DecisionRecord.id.desc())
            .limit(1)
        ).first()
        return None if row is None else records.decision_from_row(row)

    def _referral_text(self, session: Session, patient_id: str) -> str:
        decision = self._latest_referral(session, patient_id)
        return decision.person_text if decision is not None else PAUSED_ADVICE

    def referral(self, patient_id: str) -> Decision | None:
        """The decision that paused the program, while it is paused (None otherwise)."""
        with self.db.reading() as session:
            program = self._program(session, patient_id)
            if not program.state.referred:
                return None
            return self._latest_referral(session, patient_id)

    def _check_day(self, day: dt.date, program: Program) -> None:
        if day > self.clock():
            raise ServiceError(
                f"{day.isoformat()} is in the future: log what has happened, on the day it happened"
            )
        if day < program.start_date:
            raise ServiceError(
                f"{day.isoformat()} is before the program started ({program.start_date.isoformat()})"
            )

    def recheck(
        self, patient_id: str, given: Mapping[str, bool], day: dt.date
    ) -> tuple[ScreenResult, tuple[Decision, ...]]:
        """The screen's questions about rest, night and bone pain answered again after high
        pain on waking (S13). A referring answer stops the day's session with the screen's
        own check-in signs, so the program pauses as after any referral; a clear one is
        only returned (the first screen stays the record of the intake)."""
        screening = self.rules.screening
        if screening.recheck is None:
            raise ServiceError("the safety questions are not set up to be asked again")
        answers = screening.recheck_answers(given)
        result = screen(answers, screening)
        signs = screening.recheck_signs(result)
        with self.db.transaction() as session:
            patient = self.patient_in(session, patient_id, lock=True)
            program = self.program_in(session, patient_id)
            self._check_day(day, program)
            self.audit_in(session, patient_id, "recheck")  # no outcome: no health data
            if not signs or program.state.referred:
                return result, ()
            arrival = self._next_arrival(patient)
            log = SessionLog(
                id=f"recheck-{day.isoformat()}-{arrival}",
                date=day,
                skipped=True,
                skip_reason=RECHECK_REASON,
                warning_signs=signs,
            )
            record = records.session_row(patient_id, log, program.version)
            record.arrival = arrival
            session.add(record)
            slot = session.scalars(
                select(ScheduledSession)
                .where(
                    ScheduledSession.patient_id == patient_id,
                    ScheduledSession.date == day,
                    ScheduledSession.status == "planned",
                )
                .order_by(ScheduledSession.number)
                .limit(1)
            ).first()
            if slot is not None:
                slot.status, slot.session_log_id = "skipped", log.id
            session.flush()
            _, decisions = self._run_engine(session, patient_id, program, day)
            return result, decisions

    def record_checkin(self, patient_id: str, checkin: CheckIn) -> tuple[Decision, ...]:
        check_storable(checkin)
        with self.db.transaction() as session:
            patient = self.patient_in(session, patient_id, lock=True)
            program = self.program_in(session, patient_id)
            self._check_day(checkin.date, program)
            self._check_signs(checkin.warning_signs)
            taken = session.scalars(
                select(CheckInRecord).where(
                    CheckInRecord.patient_id == patient_id, CheckInRecord.date == checkin.date
                )
            ).first()
            if taken is not None:
                raise Conflict(f"there is already a check-in for {checkin.date.isoformat()}")
            row = records.checkin_to_row(patient_id, checkin)
            row.arrival = self._next_arrival(patient)
            session.add(row)
            session.flush()
            _, decisions = self._run_engine(session, patient_id, program, checkin.date)
            self.audit_in(session, patient_id, "checkin", checkin.date.isoformat())
            return decisions

    def record_retest(
        self, patient_id: str, assessment: Assessment, day: dt.date
    ) -> tuple[Decision, ...]:
        check_storable(assessment)
        if assessment.date is None:
            assessment = assessment.model_copy(update={"date": day})
        scores = self._scores(assessment)
        profile = build_profile(assessment, self.rules.assessment)
        with self.db.transaction() as session:
            patient = self.patient_in(session, patient_id, lock=True)
            program = self.program_in(session, patient_id)
            assert assessment.date is not None
            self._check_day(assessment.date, program)
            session.add(
                AssessmentRecord(
                    patient_id=patient_id,
                    date=assessment.date,
                    kind="retest",
                    data=assessment.model_dump(mode="json"),
                    profile=profile.model_dump(mode="json"),
                    scores={k: v.model_dump(mode="json") for k, v in scores.items()},
                    arrival=self._next_arrival(patient),
                )
            )
            session.flush()
            _, decisions = self._run_engine(session, patient_id, program, assessment.date)
            self.audit_in(session, patient_id, "retest", assessment.date.isoformat())
            return decisions

    def record_questionnaires(
        self, patient_id: str, answers: Mapping[str, Mapping[str, int | None]], day: dt.date
    ) -> tuple[Decision, ...]:
        """The person's questionnaires answered on their own (no tests): scored, kept with
        the assessments, and given to the engine as new outcome scores."""
        if not answers:
            raise ServiceError("answer at least one questionnaire")
        found = self.assessments(patient_id)
        if not found:
            raise Conflict("there is no first assessment yet")
        latest = found[-1][2]
        try:
            assessment = Assessment.model_validate(
                {
                    **latest.model_dump(
                        mode="json",
                        include={"age", "sex", "affected_side", "condition", "pain"},
                    ),
                    "symptom_duration_weeks": latest.symptom_duration_weeks,
                    "date": day.isoformat(),
                    **{k: dict(v) for k, v in answers.items()},
                }
            )
        except ValidationError as exc:
            raise ServiceError(f"questionnaire: {exc.errors()[0]['msg']}") from exc
        check_storable(assessment)
        scores = self._scores(assessment)
        with self.db.transaction() as session:
            patient = self.patient_in(session, patient_id, lock=True)
            program = self.program_in(session, patient_id)
            self._check_day(day, program)
            session.add(
                AssessmentRecord(
                    patient_id=patient_id,
                    date=day,
                    kind=QUESTIONNAIRES,
                    data=assessment.model_dump(mode="json"),
                    profile={},
                    scores={k: v.model_dump(mode="json") for k, v in scores.items()},
                    arrival=self._next_arrival(patient),
                )
            )
            session.flush()
            _, decisions = self._run_engine(session, patient_id, program, day)
            self.audit_in(session, patient_id, "questionnaires", day.isoformat())
            return decisions

    def questionnaires_last(self, patient_id: str) -> dt.date | None:
        """When the person last answered any of their questionnaires (at the start, at a
        retest or on their own)."""
        dates = [
            day
            for day, _, assessment, _ in self.assessments(patient_id, questionnaires=True)
            if any(
                getattr(assessment, m) is not None
                for m in ("lefs", "faam_adl", "faam_sports", "visa_a")
            )
        ]
        return max(dates) if dates else None

    def apply_override(
        self, patient_id: str, override: Override, *, by_user_id: int | None = None
    ) -> tuple[Decision, ...]:
        check_storable(override)
        with self.db.transaction() as session:
            patient = self.patient_in(session, patient_id, lock=True)
            program = self.program_in(session, patient_id)
            self._check_day(override.date, program)
            self._check_override(override, program, self.rules_for(patient_id, session))
            session.add(
                OverrideRecord(
                    patient_id=patient_id,
                    date=override.date,
                    by_user_id=by_user_id,
                    data=override.model_dump(mode="json"),
                    arrival=self._next_arrival(patient),
                )
            )
            session.flush()
            _, decisions = self._run_engine(session, patient_id, program, override.date)
            self.audit_in(session, patient_id, "override", override.action)
            return decisions

    def check_override(self, override: Override, patient_id: str | None = None) -> None:
        """What an override may do, checked once for the pages, the API and the command
        line (`clinical.overrides`): its text must be storable; safety rules and referrals
        cannot be switched off; and, with the person's program, a pinned dose must fit the
        exercise (in the program, on a dosed side, a setting its knob has). Refused with
        OverrideRefused naming the field."""
        check_storable(override)
        if patient_id is None:
            if override.action in ("rule_off", "rule_on"):
                switchable = self.rules.progression.switchable_rules
                if override.rule not in switchable:
                    raise OverrideRefused("rule", _rule_refusal(override, switchable))
            return
        with self.db.reading() as session:
            program = self._program(session, patient_id)
            self._check_override(override, program, self.rules_for(patient_id, session))

    def swap_suggestions(self, patient_id: str, exercise_id: str) -> list[Exercise]:
        """What may take `exercise_id`'s place in the person's program (`clinical.overrides.
        swap_suggestions`: the same muscles and role, suited to the phase, the equipment and
        any weight-bearing limit; ladder neighbours first), own exercises included."""
        with self.db.reading() as session:
            program = self._program(session, patient_id)
            if program.slot(exercise_id) is None:
                raise NotFound(f"{exercise_id[:64]!r} is not in the current program")
            rules = self.rules_for(patient_id, session)
            return list(swap_suggestions(program, exercise_id, rules))

    def addable(self, patient_id: str) -> list[Exercise]:
        """Exercises that may join the person's main work now (`overrides.exercise_misfit`)."""
        with self.db.reading() as session:
            program = self._program(session, patient_id)
            rules = self.rules_for(patient_id, session)
            return sorted(
                (
                    e
                    for e in rules.library.values()
                    if e.kind is not Kind.MOBILITY and exercise_misfit(e, program, rules) is None
                ),
                key=lambda e: e.name.lower(),
            )

    def _check_override(self, override: Override, program: Program, rules: Rules) -> None:
        problem = override_problem(
            override,
            program,
            rules.library,
            rules.progression.switchable_rules,
            weight_limited=load_restriction(program.pathway, program.profile, rules) is not None,
            rules=rules,
        )
        if problem is not None:
            field, why = problem
            if field == "exercise_id" and "not in the current program" in why:
                raise NotFound(why)
            raise OverrideRefused(field, why)

    # ----- reading -------------------------------------------------------------------

    def history(self, patient_id: str) -> list[HistoryEvent]:
        with self.db.reading() as session:
            self.patient_in(session, patient_id)
            history = self.history_in(session, patient_id)
            self.audit_read(patient_id, "read_history")
            return history

    def decisions(self, patient_id: str, *, limit: int | None = None) -> list[Decision]:
        with self.db.reading() as session:
            self.patient_in(session, patient_id)
            query = (
                select(DecisionRecord)
                .where(DecisionRecord.patient_id == patient_id)
                .order_by(DecisionRecord.id.desc())
            )
            if limit is not None:
                query = query.limit(limit)
            rows = session.scalars(query).all()
            self.audit_read(patient_id, "read_decisions")
            return [records.decision_from_row(r) for r in reversed(rows)]

    def assessments(
        self, patient_id: str, *, questionnaires: bool = False
    ) -> list[tuple[dt.date, str, Assessment, dict[str, Any]]]:
        """The first assessment and each retest, oldest first; with `questionnaires`, the
        questionnaires the person answered on their own too (kind "questionnaires": no
        tests, no profile)."""
        kinds = ("initial", "retest", QUESTIONNAIRES) if questionnaires else ("initial", "retest")
        with self.db.transaction() as session:
            self.patient_in(session, patient_id)
            rows = session.scalars(
                select(AssessmentRecord)
                .where(AssessmentRecord.patient_id == patient_id, AssessmentRecord.kind.in_(kinds))
                .order_by(AssessmentRecord.date, AssessmentRecord.id)
            ).all()
            return [(r.date, r.kind, Assessment.model_validate(r.data), r.profile) for r in rows]

    # ----- export, import, delete ------------------------------------------------------

    def export_person(self, patient_id: str) -> dict[str, Any]:
        """Everything about one person, as plain JSON-ready data."""
        from groundup.services.library import export_own, export_own_templates

        with self.db.transaction() as session:
            patient = self.patient_in(session, patient_id)
            screens = session.scalars(
                select(ScreenRecord)
                .where(ScreenRecord.patient_id == patient_id)
                .order_by(ScreenRecord.id)
            ).all()
            initial = session.scalars(
                select(AssessmentRecord)
                .where(
                    AssessmentRecord.patient_id == patient_id, AssessmentRecord.kind == "initial"
                )
                .limit(1)
            ).first()
            stored = versions.all_versions(session, patient_id)
            history = self.history_in(session, patient_id)
            decisions = session.scalars(
                select(DecisionRecord)
                .where(DecisionRecord.patient_id == patient_id)
                .order_by(DecisionRecord.id)
            ).all()
            decision_index = {d.id: n for n, d in enumerate(decisions)}
            self.audit_in(session, patient_id, "export")
            return {
                "format": EXPORT_FORMAT,
                "version": EXPORT_VERSION,
                "person": {
                    "id": patient.id,
                    "display_name": patient.display_name,
                    "length_unit": patient.length_unit,
                    "mass_unit": patient.mass_unit,
                    "date_format": patient.date_format,
                },
                "screens": [
                    {"date": s.date.isoformat(), "answers": s.answers, "result": s.result}
                    for s in screens
                ],
                "initial_assessment": None
                if initial is None
                else {"date": initial.date.isoformat(), "assessment": initial.data},
                "program_versions": [
                    {
                        "version": v.version,
                        "cause": v.cause,
                        # Which decision (by position below) made this version.
                        "decision_index": decision_index.get(v.decision_id or -1),
                        "program": v.data,
                    }
                    for v in stored
                ],
                "events": [e.model_dump(mode="json") for e in history],
                "decisions": [
                    {"program_version": d.program_version, "decision": d.data} for d in decisions
                ],
                "own_exercises": export_own(session, patient_id),
                "own_templates": export_own_templates(session, patient_id),
            }

    def import_person(self, data: Any) -> str:
        """Restore a person from an export. Nothing is stored unless all of it is valid."""
        check_storable(data, "import: ")
        try:
            bundle = ExportBundle.model_validate(data)
        except ValidationError as exc:
            from groundup.knowledge import describe_validation_error

            raise ServiceError(describe_validation_error(exc, "import: ")) from exc
        self._check_import(bundle)
        try:
            return self._import(bundle)
        except IntegrityError:
            # The checks above should leave nothing for the database to refuse; should it
            # still, say so without repeating the stored values the database would quote.
            raise ServiceError(
                "import: the file repeats something that must be unique (a session id, a "
                "check-in date or a program version); nothing was imported"
            ) from None

    def _check_import(self, bundle: ExportBundle) -> None:
        """What the database would refuse, said in words: repeated session ids, check-in
        dates or program versions, and dates outside what a record can carry."""
        today = self.clock()

        def repeated(values: Sequence[Any]) -> Any:
            seen: set[Any] = set()
            for value in values:
                if value in seen:
                    return value
                seen.add(value)
            return None

        events = bundle.events
        session_ids = [e.id for e in events if isinstance(e, SessionLog)]
        twice = repeated(session_ids)
        if twice is not None:
            raise ServiceError(f"import: session id {clean_text(twice)[:64]!r} appears twice")
        twice = repeated([e.date for e in events if isinstance(e, CheckIn)])
        if twice is not None:
            raise ServiceError(f"import: two check-ins on {twice.isoformat()}")
        twice = repeated([v.version for v in bundle.program_versions])
        if twice is not None:
            raise ServiceError(f"import: program version {twice} appears twice")
        dated = [("screen", s.date) for s in bundle.screens] + [(e.type, e.date) for e in events]
        if bundle.initial_assessment is not None:
            dated.append(("assessment", bundle.initial_assessment.date))
        for what, day in dated:
            try:
                check_date(day, today, what)
            except ServiceError as exc:
                raise ServiceError(f"import: {exc}") from None

    def _import(self, bundle: ExportBundle) -> str:
        from groundup.services.library import import_own, import_own_templates

        with self.db.transaction() as session:
            if session.get(Patient, bundle.person.id) is not None:
                raise Conflict(
                    f"a person with id {bundle.person.id} already exists; delete them first "
                    "or import into another database"
                )
            patient = Patient(
                id=bundle.person.id,
                display_name=bundle.person.display_name,
                length_unit=bundle.person.length_unit,
                mass_unit=bundle.person.mass_unit,
                date_format=bundle.person.date_format,
                events=0,
            )
            session.add(patient)
            session.flush()
            for screened in bundle.screens:
                result = screened.result
                session.add(
                    ScreenRecord(
                        patient_id=patient.id,
                        date=screened.date,
                        answers=screened.answers.model_dump(mode="json"),
                        result=result.model_dump(mode="json"),
                        refers=result.refers,
                        urgency=result.urgency.value if result.urgency else None,
                    )
                )
            if bundle.initial_assessment is not None:
                assessment = bundle.initial_assessment.assessment
                session.add(
                    AssessmentRecord(
                        patient_id=patient.id,
                        date=bundle.initial_assessment.date,
                        kind="initial",
                        data=assessment.model_dump(mode="json"),
                        profile=build_profile(assessment, self.rules.assessment).model_dump(
                            mode="json"
                        ),
                        scores={
                            k: v.model_dump(mode="json")
                            for k, v in self._scores(assessment).items()
                        },
                    )
                )
            for event in bundle.events:
                arrival = self._next_arrival(patient)
                if isinstance(event, SessionLog):
                    row = records.session_row(patient.id, event, 0)
                    row.arrival = arrival
                    session.add(row)
                elif isinstance(event, CheckIn):
                    checkin = records.checkin_to_row(patient.id, event)
                    checkin.arrival = arrival
                    session.add(checkin)
                elif isinstance(event, Retest):
                    session.add(
                        AssessmentRecord(
                            patient_id=patient.id,
                            date=event.date,
                            kind=QUESTIONNAIRES if event.questionnaires_only else "retest",
                            data=event.assessment.model_dump(mode="json"),
                            profile={}
                            if event.questionnaires_only
                            else build_profile(event.assessment, self.rules.assessment).model_dump(
                                mode="json"
                            ),
                            scores={
                                k: v.model_dump(mode="json")
                                for k, v in self._scores(event.assessment).items()
                            },
                            arrival=arrival,
                        )
                    )
                else:
                    session.add(
                        OverrideRecord(
                            patient_id=patient.id,
                            date=event.date,
                            data=event.model_dump(mode="json"),
                            arrival=arrival,
                        )
                    )
            decision_rows = [
                records.decision_to_row(patient.id, item.decision, item.program_version)
                for item in bundle.decisions
            ]
            session.add_all(decision_rows)
            session.flush()
            import_own(session, patient.id, bundle.own_exercises)  # before the versions
            import_own_templates(session, patient.id, bundle.own_templates)
            for version in bundle.program_versions:
                index = version.decision_index
                if index is not None and not 0 <= index < len(decision_rows):
                    raise ServiceError(
                        f"import: program version {version.version} names decision {index}, "
                        f"but the file has {len(decision_rows)} decisions"
                    )
                made_by = decision_rows[index].id if index is not None else None
                self._save_version(session, patient.id, version.program, version.cause, made_by)
            if bundle.program_versions:
                last = bundle.program_versions[-1].program
                self._schedule(session, patient.id, last, last.start_date)
                self._mark_logged(session, patient.id)
            self.audit_in(session, patient.id, "import")
            return patient.id

    def _mark_logged(self, session: Session, patient_id: str) -> None:
        logs = session.execute(
            select(SessionLogRecord.log_id, SessionLogRecord.date, SessionLogRecord.skipped).where(
                SessionLogRecord.patient_id == patient_id
            )
        ).all()
        for log_id, day, skipped in logs:
            row = session.scalars(
                select(ScheduledSession).where(
                    ScheduledSession.patient_id == patient_id,
                    ScheduledSession.date == day,
                    ScheduledSession.status == "planned",
                )
            ).first()
            if row is not None:
                row.status = "skipped" if skipped else "done"
                row.session_log_id = log_id

    def delete_person(self, patient_id: str) -> dict[str, int]:
        """Remove a person and everything about them; one anonymous audit line remains."""
        self.db.flush_audit()  # queued read lines first, so that they go with the rest
        with self.db.transaction() as session:
            patient = self.patient_in(session, patient_id, lock=True)
            counts = {
                "sessions": session.scalar(
                    select(func.count())
                    .select_from(SessionLogRecord)
                    .where(SessionLogRecord.patient_id == patient_id)
                )
                or 0,
                "decisions": session.scalar(
                    select(func.count())
                    .select_from(DecisionRecord)
                    .where(DecisionRecord.patient_id == patient_id)
                )
                or 0,
            }
            session.execute(delete(AuditEntry).where(AuditEntry.patient_id == patient_id))
            session.delete(patient)
            session.flush()
            self.audit_in(
                session,
                None,
                "delete_person",
                f"a person was deleted with {counts['sessions']} sessions and {counts['decisions']} decisions",
            )
            return counts

    def users(self) -> Sequence[User]:
        with self.db.transaction() as session:
            return session.scalars(select(User)).all()


@dataclass(frozen=True)
class ProgressData:
    """The numbers behind the progress charts."""

    session_pain: list[tuple[dt.date, int]]
    morning: list[tuple[dt.date, int, int]]
    lsi: dict[str, list[tuple[dt.date, float]]]
    weekly_minutes: list[tuple[dt.date, float]]
    adherence: list[tuple[dt.date, int, int]]  # week start, done, scheduled (past only)
    phases: list[tuple[dt.date, str]]


def progress_data(services: Services, patient_id: str, today: dt.date) -> ProgressData:
    """Pain, morning pain, LSI, weekly work and adherence over time, for one person."""
    from groundup.clinical.program import unit_seconds

    with services.db.reading() as session:
        services.patient_in(session, patient_id)
        services.audit_read(patient_id, "read_progress")
        history = services.history_in(session, patient_id)
        program = services.program_in(session, patient_id)
        assessments = session.scalars(
            select(AssessmentRecord)
            .where(AssessmentRecord.patient_id == patient_id)
            .order_by(AssessmentRecord.date, AssessmentRecord.id)
        ).all()
        scheduled = session.execute(
            select(ScheduledSession.date, ScheduledSession.status).where(
                ScheduledSession.patient_id == patient_id, ScheduledSession.date <= today
            )
        ).all()
        # The versions kept whole: every one that starts a phase is among them.
        phase_rows = session.execute(
            select(ProgramVersion.created_at, ProgramVersion.phase, ProgramVersion.data)
            .where(ProgramVersion.patient_id == patient_id, ProgramVersion.data.is_not(None))
            .order_by(ProgramVersion.version)
        ).all()
        library = services.rules_for(patient_id, session).library
    sessions = sorted(
        (e for e in history if isinstance(e, SessionLog) and not e.skipped), key=lambda s: s.date
    )
    checkins = sorted((e for e in history if isinstance(e, CheckIn)), key=lambda c: c.date)
    lsi: dict[str, list[tuple[dt.date, float]]] = {}
    for row in assessments:
        for comparison in row.profile.get("comparisons", []):
            if comparison.get("lsi") is not None:
                lsi.setdefault(comparison["test"], []).append((row.date, float(comparison["lsi"])))
    weeks: dict[dt.date, float] = {}
    for log in sessions:
        week = log.date - dt.timedelta(days=log.date.weekday())
        for exercise_log in log.exercises:
            exercise = library.get(exercise_log.exercise_id)
            slot = program.slot(exercise_log.exercise_id)
            if exercise is None:
                continue
            dose = slot.dose(exercise_log.side) if slot else None
            per_unit = unit_seconds(exercise, dose) if dose else 3.0
            seconds = sum(s.amount for s in exercise_log.sets) * per_unit
            weeks[week] = weeks.get(week, 0.0) + seconds / 60
    adherence: dict[dt.date, list[int]] = {}
    for day, status in scheduled:
        week = day - dt.timedelta(days=day.weekday())
        counts = adherence.setdefault(week, [0, 0])
        counts[1] += 1
        if status == "done":
            counts[0] += 1
    phases: list[tuple[dt.date, str]] = []
    for _, phase, data in phase_rows:
        started = dt.date.fromisoformat(data["phase_started"])
        if not phases or phases[-1][1] != phase:
            phases.append((started, phase))
    return ProgressData(
        session_pain=[(s.date, s.max_pain) for s in sessions],
        morning=[(c.date, c.pain_on_waking, c.stiffness_on_waking) for c in checkins],
        lsi=lsi,
        weekly_minutes=sorted((w, round(m, 1)) for w, m in weeks.items()),
        adherence=sorted((w, c[0], c[1]) for w, c in adherence.items()),
        phases=phases,
    )
