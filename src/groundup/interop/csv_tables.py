"""A person's record as spreadsheet tables: a zip of CSV files, one per kind of record.

For the person's own use (open in any spreadsheet) or to hand to someone who wants the
numbers. Headers are plain words, dates are ISO (YYYY-MM-DD), weights in kg. The JSON
export, not this, is what imports back.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

from groundup.clinical.intake import score_questionnaires
from groundup.clinical.logs import CheckIn, Override, SessionLog
from groundup.clinical.outcomes import OutcomeError
from groundup.clinical.profile import build_profile
from groundup.clinical.rules import Rules
from groundup.clinical.text import spreadsheet_text
from groundup.services.export import ExportBundle

Row = Sequence[Any]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):  # an enum
        return value.value
    if isinstance(value, str):
        return spreadsheet_text(value)  # never a live formula in the person's spreadsheet
    return value


def _csv(header: Sequence[str], rows: Iterable[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def tables(export: ExportBundle, rules: Rules) -> dict[str, str]:
    """Every table as CSV text, by file name."""
    library = rules.library
    person = export.person
    sessions = [e for e in export.events if isinstance(e, SessionLog)]
    signs = rules.screening.checkin_signs

    def sign_words(ids: Iterable[str]) -> str:
        return "; ".join(signs[i].text if i in signs else i for i in ids)

    out: dict[str, str] = {}
    out["person.csv"] = _csv(
        ("id", "name", "length unit", "weight unit", "date format"),
        [
            (
                person.id,
                person.display_name,
                person.length_unit,
                person.mass_unit,
                person.date_format,
            )
        ],
    )
    out["screens.csv"] = _csv(
        ("date", "outcome", "urgency", "reasons", "advice"),
        [
            (
                s.date,
                s.result.outcome,
                s.result.urgency,
                "; ".join(r.name for r in s.result.reasons),
                s.result.advice,
            )
            for s in export.screens
        ],
    )
    out["sessions.csv"] = _csv(
        (
            "session id",
            "date",
            "skipped",
            "why skipped",
            "exercises",
            "sets",
            "highest pain during (0-10)",
            "pain an hour after (0-10)",
            "warning signs",
        ),
        [
            (
                s.id,
                s.date,
                s.skipped,
                s.skip_reason,
                len(s.exercises),
                sum(len(e.sets) for e in s.exercises),
                None if s.skipped else s.max_pain,
                s.pain_after,
                sign_words(s.warning_signs),
            )
            for s in sessions
        ],
    )
    out["sets.csv"] = _csv(
        (
            "session id",
            "date",
            "exercise id",
            "exercise",
            "side",
            "set",
            "amount done",
            "unit",
            "load (kg)",
            "setting",
            "effort (1-10)",
            "reps in reserve",
            "pain (0-10)",
            "form",
        ),
        [
            (
                s.id,
                s.date,
                e.exercise_id,
                exercise.name if (exercise := library.get(e.exercise_id)) else "",
                e.side.value if e.side else "both",
                number,
                entry.amount,
                exercise.dose_type.value if exercise else "",
                entry.load_kg,
                entry.knob,
                entry.rpe,
                entry.rir,
                entry.pain,
                entry.form,
            )
            for s in sessions
            for e in s.exercises
            for number, entry in enumerate(e.sets, 1)
        ],
    )
    out["checkins.csv"] = _csv(
        (
            "date",
            "pain on waking (0-10)",
            "stiffness on waking (0-10)",
            "warning signs",
            "other signs in own words",
        ),
        [
            (
                c.date,
                c.pain_on_waking,
                c.stiffness_on_waking,
                sign_words(c.warning_signs),
                "; ".join(c.new_red_flags),
            )
            for c in export.events
            if isinstance(c, CheckIn)
        ],
    )
    assessments = export.assessments()
    out["assessments.csv"] = _csv(
        (
            "date",
            "kind",
            "age",
            "affected side",
            "weeks with symptoms",
            "pain at rest (0-10)",
            "pain during activity (0-10)",
            "pain on waking (0-10)",
            "night pain",
            "notes",
        ),
        [
            (
                day,
                kind,
                a.age,
                a.affected_side,
                a.symptom_duration_weeks,
                a.pain.at_rest,
                a.pain.during_activity,
                a.pain.on_waking,
                a.pain.night_pain,
                a.observations.notes,
            )
            for kind, day, a in assessments
        ],
    )
    test_rows = []
    outcome_rows = []
    alone = [("questionnaires", day, a) for day, a in export.questionnaires_alone()]
    for kind, day, a in [*assessments, *alone]:
        # Questionnaires answered alone hold no tests: nothing for tests.csv.
        tested = kind != "questionnaires"
        for c in build_profile(a, rules.assessment).comparisons if tested else ():
            test_rows.append(
                (day, kind, c.test, c.label, c.unit, c.left, c.right, c.lsi, c.weaker_side)
            )
        try:
            scored = score_questionnaires(a, rules.questionnaires)
        except OutcomeError:
            scored = {}
        for measure_id, result in scored.items():
            measure = rules.questionnaires.measure(measure_id)
            outcome_rows.append(
                (day, kind, measure.short_name, result.value, result.unit, result.valid)
            )
    out["tests.csv"] = _csv(
        (
            "date",
            "kind",
            "test id",
            "test",
            "unit",
            "left",
            "right",
            "limb symmetry (%)",
            "weaker side",
        ),
        test_rows,
    )
    out["outcomes.csv"] = _csv(
        ("date", "kind", "questionnaire", "score", "unit", "valid"),
        sorted(outcome_rows, key=lambda row: row[0]),
    )
    out["program_versions.csv"] = _csv(
        (
            "version",
            "cause",
            "phase",
            "phase started",
            "program start",
            "training days (0 = Monday)",
            "exercise id",
            "part",
            "side",
            "sets",
            "amount",
            "load (kg)",
            "pinned",
        ),
        [
            (
                v.version,
                v.cause,
                v.program.phase,
                v.program.phase_started,
                v.program.start_date,
                " ".join(str(d) for d in v.program.training_days),
                slot.exercise_id,
                slot.part,
                dose.side.value if dose.side else "both",
                dose.sets,
                dose.amount,
                dose.load_kg,
                dose.pinned,
            )
            for v in export.program_versions
            for slot in v.program.slots
            for dose in slot.doses
        ],
    )
    out["decisions.csv"] = _csv(
        (
            "date",
            "program version",
            "rule",
            "kind",
            "exercise id",
            "side",
            "what changed",
            "for the clinician",
        ),
        [
            (
                d.decision.date,
                d.program_version,
                d.decision.rule,
                d.decision.kind,
                d.decision.exercise_id,
                d.decision.side,
                d.decision.person_text,
                d.decision.clinician_text,
            )
            for d in export.decisions
        ],
    )
    out["overrides.csv"] = _csv(
        ("date", "by", "action", "exercise id", "side", "sets", "amount", "rule", "phase", "why"),
        [
            (
                o.date,
                o.by,
                o.action,
                o.exercise_id,
                o.side,
                o.sets,
                o.amount,
                o.rule,
                o.phase,
                o.reason,
            )
            for o in export.events
            if isinstance(o, Override)
        ],
    )
    return out


def csv_zip(export: ExportBundle, rules: Rules) -> bytes:
    """All the tables in one zip file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in tables(export, rules).items():
            archive.writestr(name, text)
    return buffer.getvalue()
