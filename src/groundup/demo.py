"""Demo data: a clinician, an admin and three people with weeks of realistic history —
one steady, one flaring up right now, one stalled — so the dashboard is alive at once.

Everything goes in through the service layer, exactly as if it had been logged by hand.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

import pyotp
import yaml

from groundup.clinical.assessment import Assessment
from groundup.clinical.intake import Intake
from groundup.clinical.logs import CheckIn, Retest, SessionLog
from groundup.clinical.program import Preferences
from groundup.services import Services
from groundup.services.accounts import Accounts
from groundup.simulation import Scenario, follow

ADMIN = ("admin@demo.groundup.example", "demo-admin-2026", "Ada Admin")
CLINICIAN = ("clinician@demo.groundup.example", "demo-clinic-2026", "Dr Jo Lindqvist")
# A second clinician of the demo clinic (Jo is its clinic admin), with one new patient, so
# the clinic's caseload has someone to move and someone to hand over to.
COLLEAGUE = ("colleague@demo.groundup.example", "demo-colleague-2026", "Dr Ravi Okafor")
DEMO_CLINIC = "Lindqvist Physio (demo)"
# Clinicians and admins sign in with a second factor. The demo's keys are known (printed
# when the demo starts, and on a demo server the code page shows the code), so that anyone
# trying the app can sign in as them, with an authenticator app or without one.
SECOND_FACTOR_KEYS = {
    ADMIN[0]: "GROUNDUPDEMOADMINKEYTWOTHOUSANDS",
    CLINICIAN[0]: "GROUNDUPDEMOCLINICIANKEYTWOSIXAA",
}
PEOPLE = (
    ("sam@demo.groundup.example", "demo-person-2026", "Sam Steady", "steady"),
    ("fran@demo.groundup.example", "demo-person-2026", "Fran Flare", "flare"),
    ("sid@demo.groundup.example", "demo-person-2026", "Sid Stall", "stall"),
)
WEEKS = 5

SCENARIOS = {
    "steady": Scenario(
        name="steady",
        weeks=WEEKS,
        session_pain=(3, 2, 2, 1),
        morning_pain=(3, 2, 1),
        morning_stiffness=(2, 1),
        effort=(6.0,),
        lsi_gain_per_week=8.0,  # a quick responder: the demo shows a phase change
        jitter=True,
    ),
    # The spike falls in the last week, so the flare-up plan is running today.
    "flare": Scenario(
        name="flare",
        weeks=WEEKS,
        session_pain=(3, 2, 2, 2, 3),
        morning_pain=(3, 2, 2, 2, 4),
        effort=(6.0,),
        spike_sessions=(13,),
    ),
    "stall": Scenario(
        name="stall",
        weeks=WEEKS,
        session_pain=(4,),
        morning_pain=(3,),
        effort=(8.5,),
        fault_weeks=tuple(range(0, WEEKS)),
        skip_every=4,
    ),
}


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    name: str


def logins() -> list[DemoLogin]:
    return [
        DemoLogin("admin", ADMIN[0], ADMIN[1], ADMIN[2]),
        DemoLogin("clinician", CLINICIAN[0], CLINICIAN[1], CLINICIAN[2]),
        *(DemoLogin("person", e, p, n) for e, p, n, _ in PEOPLE),
    ]


def current_code(accounts: Accounts, email: str) -> str | None:
    """The code a demo account's authenticator app would accept now (each code is good
    once: after one is used, the next time step's); None for any other account."""
    key = SECOND_FACTOR_KEYS.get(email)
    if key is None:
        return None
    totp = pyotp.TOTP(key)
    now = time.time()
    step = int(now // totp.interval)
    used = accounts.last_code_step(email)
    if used is None or used < step:
        return totp.at(now)
    if used == step:
        return totp.at(now + totp.interval)
    return None


def _intake() -> Intake:
    path = Path(__file__).resolve().parent.parent.parent / "examples" / "clear-left-calf.yaml"
    if path.exists():
        return Intake.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    return Intake.model_validate(DEFAULT_INTAKE)


def seed(services: Services, accounts: Accounts, today: dt.date) -> list[DemoLogin]:
    """Create the demo accounts and histories, unless they are there already."""
    if any(c.email == CLINICIAN[0] for c in accounts.clinicians()):
        return logins()
    admin = accounts.ensure_admin(ADMIN[0], ADMIN[1], ADMIN[2])
    clinician = accounts.create_user(CLINICIAN[0], CLINICIAN[2], "clinician", CLINICIAN[1])
    accounts.set_second_factor(admin, SECOND_FACTOR_KEYS[ADMIN[0]])
    accounts.set_second_factor(clinician, SECOND_FACTOR_KEYS[CLINICIAN[0]])
    colleague = accounts.create_user(COLLEAGUE[0], COLLEAGUE[2], "clinician", COLLEAGUE[1])
    clinic = services.clinics.create(DEMO_CLINIC)
    services.clinics.add_member(clinic.id, CLINICIAN[0], admin=True)
    services.clinics.add_member(clinic.id, COLLEAGUE[0])
    accounts.create_patient(colleague, "Kim Newcombe")
    intake = _intake()
    assert intake.screen is not None and intake.assessment is not None
    # Always a Sunday: the training days fall on the same days of the program whatever the
    # weekday of the seeding, so Sam's phase change and Fran's flare-up are always there.
    start = today - dt.timedelta(days=WEEKS * 7)
    start -= dt.timedelta(days=(start.weekday() + 1) % 7)
    for email, password, name, scenario_name in PEOPLE:
        patient_id, code = accounts.create_patient(clinician, name)
        accounts.register_person(email, name, password, invite=code)
        assessment: Assessment = intake.assessment.model_copy(update={"date": start})
        services.record_screen(patient_id, intake.screen, start)
        program = services.start_program(
            patient_id,
            assessment,
            Preferences(equipment=intake.preferences.equipment, minutes_per_session=30),
            day=start,
        )
        # A week more than shown is simulated: the history runs up to today, whichever
        # day of the week that is.
        scenario = SCENARIOS[scenario_name]
        longer = scenario.model_copy(update={"weeks": scenario.weeks + 1})
        events, _, _ = follow(program, assessment, longer, services.rules)
        for event in events:
            if event.date > today:
                break
            if isinstance(event, SessionLog):
                services.log_session(patient_id, event)
            elif isinstance(event, CheckIn):
                services.record_checkin(patient_id, event)
            elif isinstance(event, Retest):
                services.record_retest(patient_id, event.assessment, event.date)
    return logins()


# Used when the examples folder is not beside the package (an installed wheel).
DEFAULT_INTAKE = {
    "screen": {},
    "assessment": {
        "age": 44,
        "sex": "female",
        "affected_side": "left",
        "symptom_duration_weeks": 26,
        "pain": {
            "at_rest": 2,
            "during_activity": 5,
            "on_waking": 3,
            "lingers_after_activity_hours": 2,
        },
        "tests": {
            "heel_raise_reps": {"left": 12, "right": 25},
            "tibialis_raise_reps": {"left": 17, "right": 21},
            "knee_to_wall_cm": {"left": 8.5, "right": 10},
            "single_leg_stance_eyes_closed_s": {"left": 12, "right": 15},
        },
    },
    "preferences": {
        "equipment": ["none", "wall", "chair", "towel", "band", "step"],
        "minutes_per_session": 30,
    },
}
