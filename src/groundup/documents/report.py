"""The progress report: charts over time, test and questionnaire changes judged against
their thresholds, the phase history, the decisions that mattered and what comes next.

Two audiences: the person (plain sentences) and the clinician, whose version adds the rule
behind each decision, the numbers it used and the clinical sentences.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from groundup.clinical.assessment import Assessment
from groundup.clinical.intake import score_questionnaires
from groundup.clinical.outcomes import OutcomeError, interpret_change
from groundup.clinical.program import Program
from groundup.clinical.progression import (
    Decision,
    criterion_text,
    gate_status,
    sorted_history,
)
from groundup.clinical.rules import Rules
from groundup.clinical.vocabulary import Phase
from groundup.documents.layout import Person, person, program_of, render_html, to_pdf
from groundup.services import Services
from groundup.services.workflow import progress_data
from groundup.web.charts import progress_charts

Audience = Literal["person", "clinician"]
AUDIENCES: tuple[Audience, ...] = ("person", "clinician")

# Decisions that change the course of the program; the everyday small steps (progress,
# hold, cap) are counted instead of listed.
TURNING_POINTS = ("phase", "regress", "flare", "refer", "override", "prompt")
HEADLINES = {
    "phase": "Moved on a phase",
    "regress": "Stepped back",
    "flare": "Flare-up plan",
    "refer": "See a doctor",
    "override": "Clinician's change",
    "prompt": "Time to check",
    "info": "Re-test",
    "progress": "Steps up",
    "hold": "Kept the same",
    "cap": "Kept in check",
}


def _phase_words(phase: str) -> str:
    known = next((p for p in Phase if p.value == phase), None)
    return f"Phase {known.number}: {known.label}" if known else phase


def numbers_text(numbers: Mapping[str, Any]) -> str:
    """A decision's numbers as `key=value` pairs, in the order the rule gave them."""
    return ", ".join(
        f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"
        for key, value in numbers.items()
    )


def _turning_point(decision: Decision) -> bool:
    if decision.kind == "info":
        return decision.rule.startswith("retest")
    return decision.kind in TURNING_POINTS


def decision_items(decisions: Sequence[Decision], who: Person) -> list[dict[str, Any]]:
    """The turning points, one item per rule and day: a step back on five exercises on one
    morning is one event for the person, with each exercise's numbers for the clinician."""
    items: dict[tuple[dt.date, str], dict[str, Any]] = {}
    for d in decisions:
        if not _turning_point(d):
            continue
        item = items.setdefault(
            (d.date, d.rule),
            {
                "date": who.date(d.date),
                "headline": HEADLINES.get(d.kind, d.kind),
                "rule": d.rule,
                "plain": [],
                "clinical": [],
                "sources": [],
                "exercises": set(),
                "targets": [],
            },
        )
        if d.exercise_id:
            item["exercises"].add(d.exercise_id)
            item["targets"].append(d.exercise_id + (f" {d.side.value}" if d.side else ""))
        if d.person_text not in item["plain"]:
            item["plain"].append(d.person_text)
        clinical = (d.clinician_text, numbers_text(d.numbers))
        if clinical not in item["clinical"]:
            item["clinical"].append(clinical)
        if d.source and d.source not in item["sources"]:
            item["sources"].append(d.source)
    return [item | {"exercises": len(item["exercises"])} for item in items.values()]


def routine_summary(decisions: Sequence[Decision], who: Person) -> list[dict[str, str]]:
    """The everyday adjustments, one row per rule: how often, when last, and an example."""
    routine = [d for d in decisions if not _turning_point(d) and d.kind != "info"]
    counts = Counter(d.rule for d in routine)
    last: dict[str, Decision] = {d.rule: d for d in routine}
    return [
        {
            "rule": rule,
            "headline": HEADLINES.get(last[rule].kind, last[rule].kind),
            "count": str(count),
            "last": who.date(last[rule].date),
            "plain": last[rule].person_text,
            "clinical": last[rule].clinician_text,
        }
        for rule, count in counts.most_common()
    ]


def lsi_rows(
    rules: Rules, assessments: Sequence[tuple[dt.date, str, Assessment, dict[str, Any]]]
) -> list[dict[str, str]]:
    """Each test at the first assessment and the latest: both sides and the LSI."""
    if not assessments:
        return []
    tests = rules.assessment.tests
    first = {c["test"]: c for c in assessments[0][3].get("comparisons", [])}
    latest = {c["test"]: c for c in assessments[-1][3].get("comparisons", [])}

    def lsi(comparison: Mapping[str, Any] | None) -> str:
        if comparison is None or comparison.get("lsi") is None:
            return "—"
        return f"{float(comparison['lsi']):.0f} %"

    def sides(comparison: Mapping[str, Any] | None) -> str:
        if comparison is None:
            return "—"
        left, right = comparison.get("left"), comparison.get("right")
        unit = comparison.get("unit", "")
        text = " / ".join("—" if v is None else f"{round(float(v), 1):g}" for v in (left, right))
        return f"{text} {unit}".strip()

    rows = []
    for test, now in latest.items():
        before = first.get(test)
        definition = tests.get(test)
        change = ""
        if before and before.get("lsi") is not None and now.get("lsi") is not None:
            delta = round(float(now["lsi"]) - float(before["lsi"]))
            change = "no change" if delta == 0 else f"{delta:+d} points"
        rows.append(
            {
                "test": definition.person_label.capitalize() if definition else test,
                "label": definition.label if definition else test,
                "before": lsi(before),
                "now": lsi(now),
                "change": change,
                "sides_before": sides(before),
                "sides_now": sides(now),
                "beyond_error": "yes" if now.get("beyond_error") else "no",
                "severity": str(now.get("severity", "")),
            }
        )
    return rows


def outcome_rows(
    rules: Rules, assessments: Sequence[tuple[dt.date, str, Assessment, dict[str, Any]]]
) -> list[dict[str, str]]:
    """Questionnaire scores, first against latest, judged against their MCID and MDC."""
    if len(assessments) < 2:
        return []
    try:
        before = score_questionnaires(assessments[0][2], rules.questionnaires)
        after = score_questionnaires(assessments[-1][2], rules.questionnaires)
    except OutcomeError:
        return []
    rows = []
    for measure_id, first in before.items():
        last = after.get(measure_id)
        if last is None or first.value is None or last.value is None:
            continue
        if not (first.valid and last.valid):
            continue
        measure = rules.questionnaires.measure(measure_id)
        verdict = interpret_change(measure, first.value, last.value)
        thresholds = []
        if verdict.mcid is not None:
            thresholds.append(f"MCID {verdict.mcid:g}")
        if verdict.mdc is not None:
            thresholds.append(f"MDC {verdict.mdc:g}")
        rows.append(
            {
                "measure": measure.short_name,
                "plain_name": measure.plain_name.capitalize(),
                "before": first.display(),
                "after": last.display(),
                "change": f"{verdict.delta:+.1f}".removesuffix(".0"),
                "verdict": verdict.change.value,
                "verdict_words": {
                    "improved": "Improved",
                    "worsened": "Worse",
                    "no_real_change": "No clear change",
                }[verdict.change.value],
                "thresholds": ", ".join(thresholds),
                "plain": verdict.plain,
                "clinical": verdict.clinical,
            }
        )
    return rows


def next_steps(
    program: Program, services: Services, patient_id: str, today: dt.date, who: Person
) -> dict[str, Any]:
    """The next phase's gate, criterion by criterion, and when the next re-test falls."""
    rules = services.rules
    nxt = program.phase.next()
    criteria = []
    if nxt is not None and program.template is None:
        seen = [e for e in sorted_history(services.history(patient_id)) if e.date <= today]
        for criterion, met, why, needs_tests in gate_status(program, today, seen, rules):
            criteria.append(
                {
                    "id": criterion.id,
                    "text": criterion_text(criterion, program.profile),
                    "met": met,
                    "why": why,
                    "needs_tests": needs_tests,
                }
            )
    tested = program.profile.tested_on or program.start_date
    due = tested + dt.timedelta(weeks=rules.progression.retest_every_weeks)
    waiting_on_tests = bool(criteria) and all(c["met"] or c["needs_tests"] for c in criteria)
    if waiting_on_tests and not all(c["met"] for c in criteria):
        retest = "now: every other milestone is met, and fresh test results decide the rest"
    elif due <= today:
        retest = f"now (it was due on {who.date(due)})"
    else:
        retest = who.date(due)
    return {
        "next_phase": _phase_words(nxt.value) if nxt else "",
        "criteria": criteria,
        "retest": retest,
        "last_tested": who.date(tested),
    }


def report_html(
    services: Services, patient_id: str, today: dt.date, audience: Audience = "person"
) -> str:
    """The progress report as HTML (what `build_report` lays out)."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}, not {audience!r}")
    who = person(services, patient_id)
    program = program_of(services, patient_id)
    rules = services.rules
    data = progress_data(services, patient_id, today)
    drawn = progress_charts(data, rules)
    assessments = services.assessments(patient_id)
    decisions = services.decisions(patient_id)
    planned = sum(total for _, _, total in data.adherence)
    done = sum(count for _, count, _ in data.adherence)
    phases = [{"since": who.date(day), "phase": _phase_words(phase)} for day, phase in data.phases]
    return render_html(
        "report.html",
        who=who,
        clinician=audience == "clinician",
        printed=who.date(today),
        phase=_phase_words(program.phase.value),
        phase_since=who.date(program.phase_started),
        started=who.date(program.start_date),
        weeks=max(0, (today - program.start_date).days // 7),
        done=done,
        planned=planned,
        charts=drawn,
        lsi=lsi_rows(rules, assessments),
        first_test=who.date(assessments[0][0]) if assessments else "",
        latest_test=who.date(assessments[-1][0]) if assessments else "",
        outcomes=outcome_rows(rules, assessments),
        phases=phases,
        decisions=list(reversed(decision_items(decisions, who))),
        routine=routine_summary(decisions, who),
        next=next_steps(program, services, patient_id, today, who),
        referred=program.state.referred,
        flare=program.state.flare is not None,
        version=program.version,
    )


def build_report(
    services: Services, patient_id: str, today: dt.date, audience: Audience = "person"
) -> bytes:
    """The progress report as PDF bytes (NoProgram when there is nothing to report)."""
    html = report_html(services, patient_id, today, audience)
    title = "Progress report" + (" (clinician)" if audience == "clinician" else "")
    return to_pdf(html, title)
