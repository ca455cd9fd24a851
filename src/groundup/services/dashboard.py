"""The clinician's dashboard: which of their patients needs attention, and why.

`attention(services, accounts, clinician, today)` reads every linked patient in one
query per table (aggregates over `patient_id in (the clinician's patients)`, JSON fields
picked out by the database), never a patient's full history, so that it stays fast for
thousands of patients. Each flag carries one precise sentence with its numbers.

Order of urgency: referral (the more urgent screen first) > flare-up > needs the
clinician's review (a stall the engine has prompted about again and again, or a check the
intake asked for still not recorded) > rising morning pain > low adherence > stall > no
program yet. The priority score adds the flags' weights; each weight is larger than
all the weights below it together, so the order above always holds, and among patients
with the same flags the larger problem (more missed sessions, a steeper rise) comes first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select

from groundup.clinical.profile import limb_symmetry_index
from groundup.clinical.screening import Urgency
from groundup.services import versions
from groundup.services.accounts import Account, Accounts, Forbidden
from groundup.services.workflow import NotFound, Services
from groundup.storage.models import (
    AssessmentRecord,
    CheckInRecord,
    ClinicianPatient,
    DecisionRecord,
    Patient,
    ProgramVersion,
    ScheduledSession,
    ScreenRecord,
    SessionLogRecord,
    User,
)

ADHERENCE_WINDOW_DAYS = 14
ADHERENCE_MIN_PERCENT = 60
NO_LOG_DAYS = 7
MORNING_WINDOW_DAYS = 7
STALL_DAYS = 21

# Weights: each flag outranks every combination of the flags below it.
WEIGHTS = {
    "referral": 2000,
    "flare": 1000,
    "review": 500,
    "morning_rise": 250,
    "adherence": 120,
    "stall": 60,
    "no_program": 30,
}
LEVELS = {
    "referral": "bad",
    "flare": "bad",
    "review": "bad",
    "morning_rise": "warn",
    "adherence": "warn",
    "stall": "warn",
    "no_program": "info",
}
LABELS = {
    "referral": "Referral",
    "flare": "Flare-up",
    "review": "Review",
    "morning_rise": "AM pain ↑",
    "adherence": "Adherence",
    "stall": "Stall",
    "no_program": "No program",
}


@dataclass(frozen=True)
class Flag:
    code: str
    label: str
    level: str  # bad, warn, info: the tag colour
    reason: str

    @property
    def weight(self) -> int:
        return WEIGHTS[self.code]


@dataclass
class PatientStatus:
    patient_id: str
    display_name: str
    has_account: bool = False
    phase: str | None = None
    version: int | None = None
    phase_started: dt.date | None = None
    program_start: dt.date | None = None
    last_session: dt.date | None = None
    sessions_21d: int = 0
    scheduled: int = 0
    done: int = 0
    adherence: int | None = None  # % of scheduled sessions done in the window
    morning_recent: float | None = None
    morning_before: float | None = None
    heel_raise_lsi: float | None = None
    heel_raise_lsi_first: float | None = None
    last_progress: dt.date | None = None
    flags: list[Flag] = field(default_factory=list)
    score: float = 0.0

    @property
    def phase_label(self) -> str:
        return self.phase.replace("_", " ").capitalize() if self.phase else "—"

    def has(self, code: str) -> bool:
        return any(f.code == code for f in self.flags)


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _lsi(left: Any, right: Any, affected: Any) -> float | None:
    """The LSI as the profile has it: the affected side ÷ the other; none with both."""
    try:
        a, b = float(left), float(right)
    except (TypeError, ValueError):
        return None
    if affected == "left":
        return limb_symmetry_index(a, b)
    if affected == "right":
        return limb_symmetry_index(b, a)
    return None


def _mine(clinician: Account, only: str | None) -> Select[Any]:
    query = select(ClinicianPatient.patient_id).where(ClinicianPatient.clinician_id == clinician.id)
    if only is not None:
        query = query.where(ClinicianPatient.patient_id == only)
    return query


def attention(
    services: Services, accounts: Accounts, clinician: Account, today: dt.date
) -> list[PatientStatus]:
    """The clinician's patients with their flags, most urgent first."""
    return _statuses(services, clinician, today, None)


def status_of(
    services: Services, accounts: Accounts, clinician: Account, patient_id: str, today: dt.date
) -> PatientStatus:
    """One patient's status, after the access check (NotFound when not the clinician's)."""
    accounts.require(clinician, patient_id)
    found = _statuses(services, clinician, today, patient_id)
    if not found:
        raise NotFound("no such person, or not yours to see")
    return found[0]


@dataclass(frozen=True)
class ClinicianRow:
    id: int
    display_name: str
    email: str
    active: bool
    patients: int


def clinician_overview(services: Services, admin: Account) -> list[ClinicianRow]:
    """Every clinician with their state and caseload, for the admin page."""
    if admin.role != "admin":
        raise Forbidden("only admins manage clinicians")
    caseload = (
        select(ClinicianPatient.clinician_id.label("cid"), func.count().label("n"))
        .group_by(ClinicianPatient.clinician_id)
        .subquery()
    )
    with services.db.transaction() as session:
        rows = session.execute(
            select(User.id, User.display_name, User.email, User.active, caseload.c.n)
            .outerjoin(caseload, caseload.c.cid == User.id)
            .where(User.role == "clinician")
            .order_by(User.display_name, User.id)
        ).all()
    return [
        ClinicianRow(i, name, email, bool(active), int(n or 0))
        for i, name, email, active, n in rows
    ]


def _statuses(
    services: Services, clinician: Account, today: dt.date, only: str | None
) -> list[PatientStatus]:
    if clinician.role != "clinician":
        return []
    p = services.rules.progression
    mine = _mine(clinician, only)
    out: dict[str, PatientStatus] = {}
    with services.db.transaction() as session:
        for pid, name, user_id in session.execute(
            select(Patient.id, Patient.display_name, Patient.user_id).where(Patient.id.in_(mine))
        ):
            out[pid] = PatientStatus(pid, name, has_account=user_id is not None)
        if not out:
            return []

        # Programs: the newest version of each, with the engine state picked out of the JSON.
        newest = versions.newest_versions(mine)
        data = ProgramVersion.data
        programs = session.execute(
            select(
                ProgramVersion.patient_id,
                ProgramVersion.version,
                ProgramVersion.phase,
                data["phase_started"].as_string(),
                data["start_date"].as_string(),
                data[("state", "referred")].as_boolean(),
                data[("state", "referral_reason")].as_string(),
                data[("state", "flare", "started")].as_string(),
                data[("state", "flare", "stage")].as_integer(),
                data[("state", "flare", "volume_fraction")].as_float(),
                data[("state", "check_pending", "since")].as_string(),
                data[("state", "check_pending", "clinical")].as_string(),
                data[("state", "last_weight_prompt")].as_string(),
            ).join(
                newest,
                and_(
                    ProgramVersion.patient_id == newest.c.patient_id,
                    ProgramVersion.version == newest.c.version,
                ),
            )
        ).all()
        program_state: dict[str, tuple[Any, ...]] = {}
        for (
            pid,
            version,
            phase,
            started,
            start,
            referred,
            why,
            flare,
            stage,
            fraction,
            check_since,
            check_why,
            weight_asked,
        ) in programs:
            status = out[pid]
            status.version, status.phase = version, phase
            status.phase_started, status.program_start = _date(started), _date(start)
            program_state[pid] = (
                bool(referred),
                why,
                _date(flare),
                stage,
                fraction,
                _date(check_since),
                check_why,
                _date(weight_asked),
            )

        # Screens: the latest of each, and its most urgent reason.
        latest_screen = (
            select(func.max(ScreenRecord.id))
            .where(ScreenRecord.patient_id.in_(mine))
            .group_by(ScreenRecord.patient_id)
        )
        screens = {
            pid: (refers, urgency, reason, day)
            for pid, refers, urgency, reason, day in session.execute(
                select(
                    ScreenRecord.patient_id,
                    ScreenRecord.refers,
                    ScreenRecord.urgency,
                    ScreenRecord.result[("reasons", 0, "name")].as_string(),
                    ScreenRecord.date,
                ).where(ScreenRecord.id.in_(latest_screen))
            )
        }

        # Morning check-ins: this week's and last week's mean pain on waking.
        recent_from = today - dt.timedelta(days=MORNING_WINDOW_DAYS - 1)
        before_from = recent_from - dt.timedelta(days=MORNING_WINDOW_DAYS)
        for pid, recent, before in session.execute(
            select(
                CheckInRecord.patient_id,
                func.avg(case((CheckInRecord.date >= recent_from, CheckInRecord.pain_on_waking))),
                func.avg(case((CheckInRecord.date < recent_from, CheckInRecord.pain_on_waking))),
            )
            .where(
                CheckInRecord.patient_id.in_(mine),
                CheckInRecord.date >= before_from,
                CheckInRecord.date <= today,
            )
            .group_by(CheckInRecord.patient_id)
        ):
            status = out[pid]
            status.morning_recent = None if recent is None else round(float(recent), 1)
            status.morning_before = None if before is None else round(float(before), 1)

        # Schedule: sessions due in the last 14 days (today's only once it is logged).
        window_from = today - dt.timedelta(days=ADHERENCE_WINDOW_DAYS)
        due = or_(ScheduledSession.date < today, ScheduledSession.status != "planned")
        for pid, scheduled, done in session.execute(
            select(
                ScheduledSession.patient_id,
                func.sum(case((due, 1), else_=0)),
                func.sum(case((ScheduledSession.status == "done", 1), else_=0)),
            )
            .where(
                ScheduledSession.patient_id.in_(mine),
                ScheduledSession.date >= window_from,
                ScheduledSession.date <= today,
            )
            .group_by(ScheduledSession.patient_id)
        ):
            status = out[pid]
            status.scheduled, status.done = int(scheduled or 0), int(done or 0)
            if status.scheduled:
                status.adherence = round(100 * status.done / status.scheduled)

        # Sessions: the last one done, and how many in the stall window.
        stall_from = today - dt.timedelta(days=STALL_DAYS)
        for pid, last, count in session.execute(
            select(
                SessionLogRecord.patient_id,
                func.max(SessionLogRecord.date),
                func.sum(case((SessionLogRecord.date > stall_from, 1), else_=0)),
            )
            .where(SessionLogRecord.patient_id.in_(mine), SessionLogRecord.skipped.is_(False))
            .group_by(SessionLogRecord.patient_id)
        ):
            out[pid].last_session = _date(last)
            out[pid].sessions_21d = int(count or 0)

        # Decisions: the last progression (or phase advance), the last stall prompt and the
        # last stall the engine handed to the clinician.
        decisions: dict[str, tuple[dt.date | None, dt.date | None]] = {}
        for pid, progressed, stalled, escalated in session.execute(
            select(
                DecisionRecord.patient_id,
                func.max(
                    case((DecisionRecord.kind.in_(("progress", "phase")), DecisionRecord.date))
                ),
                func.max(case((DecisionRecord.rule == "stall.reassess", DecisionRecord.date))),
                func.max(case((DecisionRecord.rule == "stall.clinician", DecisionRecord.date))),
            )
            .where(DecisionRecord.patient_id.in_(mine))
            .group_by(DecisionRecord.patient_id)
        ):
            out[pid].last_progress = _date(progressed)
            decisions[pid] = (_date(stalled), _date(escalated))

        # Heel-raise LSI: the first and the latest assessment that tested it.
        heel = AssessmentRecord.data[("tests", "heel_raise_reps")]
        for pid, _day, left, right, affected in session.execute(
            select(
                AssessmentRecord.patient_id,
                AssessmentRecord.date,
                heel["left"].as_float(),
                heel["right"].as_float(),
                AssessmentRecord.data["affected_side"].as_string(),
            )
            .where(AssessmentRecord.patient_id.in_(mine))
            .order_by(AssessmentRecord.patient_id, AssessmentRecord.date, AssessmentRecord.id)
        ):
            value = _lsi(left, right, affected)
            if value is None:
                continue
            status = out[pid]
            if status.heel_raise_lsi_first is None:
                status.heel_raise_lsi_first = value
            status.heel_raise_lsi = value

    for pid, status in out.items():
        stall_prompt, escalated = decisions.get(pid, (None, None))
        _flag(status, program_state.get(pid), screens.get(pid), stall_prompt, escalated, today, p)
    return sorted(out.values(), key=lambda s: (-s.score, s.display_name.lower(), s.patient_id))


def _flag(
    status: PatientStatus,
    state: tuple[Any, ...] | None,
    screen: tuple[Any, ...] | None,
    stall_prompt: dt.date | None,
    escalated: dt.date | None,
    today: dt.date,
    p: Any,
) -> None:
    flags: list[Flag] = []

    def add(code: str, reason: str) -> None:
        flags.append(Flag(code, LABELS[code], LEVELS[code], reason))

    # 1. Referral: the engine referred, or the latest screen refers.
    if state is not None and state[0]:
        add("referral", f"Program on hold, referred: {state[1] or 'referral rule fired'}")
    elif screen is not None and screen[0]:
        urgency = (screen[1] or "").replace("_", " ")
        add(
            "referral",
            f"Screen {screen[3].isoformat()} refers ({urgency}): {screen[2] or 'red flag'}. "
            "No program until medically cleared.",
        )
    # 2. Flare-up protocol active.
    if state is not None and state[2] is not None:
        fraction = f", volume at {state[4] * 100:.0f} %" if state[4] is not None else ""
        add(
            "flare",
            f"Flare-up protocol since {state[2].isoformat()} "
            f"({(today - state[2]).days} d), stage {(state[3] or 0) + 1}{fraction}.",
        )
    # 3. Needs the clinician: a stall prompted about again and again with nothing moving
    #    since, or a check the intake asked for that nobody has recorded.
    review = []
    if escalated is not None and (status.last_progress is None or escalated > status.last_progress):
        review.append(
            f"Stall handed over {escalated.isoformat()} (stall.clinician): the same "
            f"reassessment prompt {p.prompts_before_clinician} times with no progression "
            "between; review the program with the patient"
        )
    if state is not None and state[5] is not None:
        review.append(
            f"Check asked for at intake still not recorded (since {state[5].isoformat()}, "
            f"{(today - state[5]).days} d): {state[6] or 'intake warning'} Record it on the "
            "program page once done and clear"
        )
    if state is not None and state[7] is not None:
        review.append(
            f"Waiting for full weight-bearing to be recorded (last asked {state[7].isoformat()}): "
            "the program stays seated and below the next phase until it is; record it on the "
            "program page once the surgeon or physiotherapist allows full weight"
        )
    if review:
        add("review", ". ".join(review) + ".")
    # 4. Morning pain rising week on week.
    recent, before = status.morning_recent, status.morning_before
    if recent is not None and before is not None and recent - before >= p.weekly_morning_rise_by:
        add(
            "morning_rise",
            f"Mean AM pain {recent:g}/10 over the last 7 d vs {before:g}/10 the 7 d before "
            f"(+{recent - before:.1f}; threshold +{p.weekly_morning_rise_by:g}).",
        )
    # 5. Adherence: sessions done, and days since the last one.
    if status.version is not None and not (state is not None and state[0]):
        problems = []
        if status.adherence is not None and status.adherence < ADHERENCE_MIN_PERCENT:
            problems.append(
                f"{status.done}/{status.scheduled} scheduled sessions done in the last "
                f"{ADHERENCE_WINDOW_DAYS} d ({status.adherence} % < {ADHERENCE_MIN_PERCENT} %)"
            )
        since = status.last_session or status.program_start
        if since is not None and (today - since).days >= NO_LOG_DAYS:
            what = "no session logged" if status.last_session else "no session logged since start"
            problems.append(f"{what} for {(today - since).days} d")
        if problems:
            text = "; ".join(problems)
            add("adherence", text[0].upper() + text[1:] + ".")
    # 6. Stall: the engine prompted a reassessment, or no progression for 21 days of work.
    if stall_prompt is not None and (today - stall_prompt).days <= STALL_DAYS:
        add(
            "stall",
            f"stall.reassess fired {stall_prompt.isoformat()}: no dose step for "
            f"≥ {p.stall_weeks} weeks, or test milestones flat from retest to retest; "
            "reassess technique, recovery, load.",
        )
    elif status.version is not None:
        since = status.last_progress or status.program_start
        if (
            since is not None
            and (today - since).days >= STALL_DAYS
            and status.sessions_21d >= p.stall_min_sessions
        ):
            last = (
                f"last progression {status.last_progress.isoformat()}"
                if status.last_progress
                else "no progression since start"
            )
            add(
                "stall",
                f"{last} ({(today - since).days} d) despite {status.sessions_21d} sessions "
                f"in the last {STALL_DAYS} d.",
            )
    # 7. No program yet (and not already explained by a referring screen).
    if status.version is None and not any(f.code == "referral" for f in flags):
        add(
            "no_program",
            "No screen recorded yet." if screen is None else "Screen clear; assessment pending.",
        )
    status.flags = flags
    score = float(sum(f.weight for f in flags))
    # Among referring screens, the more urgent first: emergency, today, within days.
    if screen is not None and screen[0] and screen[1] and status.has("referral"):
        score += Urgency(screen[1]).rank
    # Within a flag, the bigger problem first: days of flare, missed share, rise in pain.
    if status.adherence is not None and status.has("adherence"):
        score += (100 - status.adherence) / 10
    if recent is not None and before is not None and status.has("morning_rise"):
        score += recent - before
    status.score = score
