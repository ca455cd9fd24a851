"""The home-program handout: a cover with the schedule and the pain rules, one card per
exercise, and a pain-and-effort diary for the coming weeks."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from groundup import pictures
from groundup.clinical.assessment import Assessment
from groundup.clinical.exercises import Exercise
from groundup.clinical.pathways import assessment_warnings, deficit_warnings, load_restriction
from groundup.clinical.planning import minutes_shown
from groundup.clinical.program import PART_TITLES, Dose, Program, Slot, dose_words
from groundup.clinical.progression import pain_zone
from groundup.clinical.rules import ProgressionRules, Rules
from groundup.clinical.screening import ScreeningRules, Urgency
from groundup.documents.layout import WEEKDAYS, Person, person, program_of, render_html, to_pdf
from groundup.knowledge import load_screening_rules
from groundup.services import Services

DEFAULT_WEEKS = 4
MAX_WEEKS = 12


def _share(fraction: float) -> str:
    """0.5 → 'half', 0.2 → '20 %': the plainest way to say a share of the usual work."""
    words = {0.25: "a quarter of", 0.5: "half", 0.75: "three quarters of"}
    return words.get(round(fraction, 2), f"{fraction:.0%} of".replace("%", " %"))


def _points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")


@dataclass(frozen=True)
class PainZone:
    """One band of the 0–10 pain scale and what the program does about it."""

    band: str
    verdict: str
    meaning: str
    tone: str  # good, warn, bad: a tint and a word, never colour alone


def pain_zones(p: ProgressionRules) -> list[PainZone]:
    """The pain-monitoring model the engine follows, in plain words, from its thresholds."""
    safe, limit = p.pain_safe_max, p.pain_acceptable_max
    return [
        PainZone(
            f"0 to {safe}",
            "Fine",
            f"Carry on. When {p.consecutive_sessions} sessions in a row stay here, with good "
            f"form and an effort of {p.spare_effort_rpe_max:g} out of 10 or less, the program "
            "makes that exercise a little harder.",
            "good",
        ),
        PainZone(
            f"{safe + 1} to {limit}",
            "Acceptable",
            "You can finish the exercise. The program keeps the same dose until the pain "
            f"is back to {safe} or less.",
            "warn",
        ),
        PainZone(
            f"{limit + 1} to {p.flare_pain - 1}"
            if p.flare_pain - 1 > limit + 1
            else f"{limit + 1}",
            "Too much",
            "Stop that exercise for today. Next time it steps back: an easier version, or "
            f"about {p.regress_volume_fraction:.0%} less work.".replace("%", " %"),
            "bad",
        ),
        PainZone(
            f"{p.flare_pain} or more",
            "Flare-up",
            "Stop the session. The program switches to its flare-up plan: about "
            f"{_share(p.flare_reduced_fraction)} the usual work for {p.flare_stage_sessions} "
            "sessions, then back up in steps.",
            "bad",
        ),
    ]


def pain_after(p: ProgressionRules, after_max: int | None = None) -> list[str]:
    """What the next morning and the weeks should look like, in plain words; `after_max`
    is the pathway's own limit right after a session, where it has one."""
    weeks = p.referral_window_days // 7
    limit = p.pain_after_acceptable_max if after_max is None else after_max
    return [
        f"Right after a session pain may reach {limit} out of 10, but it "
        "should have settled by the next morning. Above "
        f"{limit}, that session's exercises step back a little; at "
        f"{p.flare_pain_after} or more, the flare-up plan starts.",
        f"If your pain or stiffness on waking is {_points(p.morning_worse_by)} or more worse "
        "than before the session, the exercises from that session step back a little. If "
        f"pain is {_points(p.flare_morning_rise)} or more worse, the flare-up plan starts.",
        "From one week to the next, morning pain and stiffness should not creep up. If "
        f"your weekly average rises by {_points(p.weekly_morning_rise_by)} or more, the "
        "exercises step back a little and nothing gets harder until it settles.",
        "Log how it felt right after each session and check in each morning after one: "
        "without those answers the program keeps your doses as they are.",
        f"If pain keeps getting worse over {weeks} weeks even though the program has stepped "
        f"back {p.referral_min_regressions} times, it pauses and asks you to see a doctor "
        "or physiotherapist.",
    ]


# The headings of the printed "when to stop and get help" list, by the screen's urgency.
SEEK_HELP_HEADINGS: dict[Urgency, str] = {
    Urgency.EMERGENCY: "Now: call an ambulance or go to an emergency department if you notice",
    Urgency.SAME_DAY: "Today: stop the program and see a doctor the same day if you notice",
    Urgency.SOON: "Soon: stop the program and see a doctor within a few days if you notice",
}


def seek_help(screening: ScreeningRules) -> dict[str, list[str]]:
    """When to stop and get help, built from the safety screen's own rules: each sign under
    the urgency the screen gives it, so the printed page cannot disagree with the screen."""
    out: dict[str, list[str]] = {}
    for urgency, heading in SEEK_HELP_HEADINGS.items():
        signs = [
            rule.handout
            for rule in screening.rules.values()
            if rule.urgency is urgency and rule.handout is not None
        ]
        if signs:
            out[heading] = signs
    return out


def _one_side_note(slot: Slot, program: Program, rules: Rules) -> str:
    """A slot for one leg only (a protocol loading the sore leg, C1): how the other leg helps."""
    if len(slot.doses) != 1 or slot.doses[0].side is None:
        return ""
    template = rules.templates.templates.get(program.template or "")
    rule = template.affected_side_only if template is not None else None
    return f"This leg only. {rule.cue}" if rule is not None else "This leg only."


def _dose_rows(
    slot: Slot, exercise: Exercise, program: Program, who: Person, rules: Rules
) -> list[dict[str, Any]]:
    least = min(d.sets for d in slot.doses)
    only = _one_side_note(slot, program, rules)
    rows = []
    for dose in slot.doses:
        words = dose_words(dose, exercise.dose_type)
        if dose.load_kg:
            words += f" with {who.mass(dose.load_kg)}"
        extra = dose.sets - least
        note = ""
        if dose.side is not None and dose.side == program.weaker_side and extra > 0:
            note = f"your weaker side: {extra} extra set" + ("" if extra == 1 else "s")
        note = note or only
        rows.append(
            {
                "side": f"{dose.side.value.capitalize()} leg" if dose.side else "Both legs",
                "dose": words,
                "rest": f"{dose.rest_seconds} s rest between sets"
                if dose.sets > 1 and dose.rest_seconds
                else "",
                "note": note,
            }
        )
    return rows


def _setting(exercise: Exercise, doses: tuple[Dose, ...]) -> str:
    if exercise.knob is None:
        return ""
    knob = exercise.knob
    settings = []
    for dose in doses:
        if dose.knob is None:
            continue
        text = knob.describe(dose.knob)
        if text not in settings:
            settings.append(text)
    if len(settings) > 1:
        return "; ".join(
            f"{d.side.value if d.side else 'both'}: {knob.describe(d.knob)}"
            for d in doses
            if d.knob is not None
        )
    return settings[0] if settings else ""


def _card(
    slot: Slot,
    program: Program,
    services: Services,
    who: Person,
    rules: Rules,
    photos: dict[str, str],
) -> dict[str, Any]:
    library = rules.library
    exercise = library[slot.exercise_id]
    tempo = next((d.tempo for d in slot.doses if d.tempo is not None), exercise.tempo)
    pair = library.get(slot.pair_with) if slot.pair_with else None
    return {
        "name": exercise.name,
        "part": PART_TITLES[slot.part],
        "summary": exercise.summary,
        "picture": Markup(pictures.render(exercise)),
        # A clinician's own exercise with an uploaded photo: the checked, re-encoded JPEG.
        "photo": photos.get(exercise.id, ""),
        "doses": _dose_rows(slot, exercise, program, who, rules),
        "tempo": tempo.text() if tempo else "",
        "setting": _setting(exercise, slot.doses),
        "easier": exercise.knob.easier_how if exercise.knob else "",
        "pair": pair.name if pair else "",
        "steps": exercise.steps,
        "cues": exercise.cues,
        "faults": [{"text": f.text, "fix": f.fix} for f in exercise.faults],
        "cautions": exercise.cautions,
    }


def diary_weeks(program: Program, today: dt.date, weeks: int, who: Person) -> list[dict[str, Any]]:
    """One table a week from today: a row for each planned session."""
    out = []
    for week in range(weeks):
        first = today + dt.timedelta(days=7 * week)
        last = first + dt.timedelta(days=6)
        rows = []
        for offset in range(7):
            day = first + dt.timedelta(days=offset)
            if not program.is_training_day(day):
                continue
            for number in range(1, program.times_per_day + 1):
                label = who.weekday_date(day)
                if program.times_per_day > 1:
                    label += f" ({number} of {program.times_per_day})"
                rows.append(label)
        out.append(
            {
                "title": f"Week {week + 1}: {who.date(first)} to {who.date(last)}",
                "rows": rows,
            }
        )
    return out


def _latest_assessment(services: Services, patient_id: str) -> Assessment | None:
    found = services.assessments(patient_id)
    return found[-1][2] if found else None


def referral_words(services: Services, patient_id: str) -> str:
    """Why the program is paused, in the words the person was given."""
    for decision in reversed(services.decisions(patient_id)):
        if decision.kind == "refer":
            return decision.person_text
    return "Please see a doctor or physiotherapist before you carry on."


def condition_box(program: Program, rules: Rules, assessment: Assessment | None) -> dict[str, Any]:
    """What the person has and what it changes, for the handout's first page: the pathway's
    name and why, its own pain rule, running, its advice, the warnings the intake raised,
    the weight-bearing limit, and what to watch for."""
    pathway = rules.pathways[program.pathway]
    warnings: list[str] = []
    if assessment is not None and assessment.condition is program.pathway:
        warnings += assessment_warnings(program.pathway, assessment, rules)
    warnings += [person for person, _ in deficit_warnings(program.pathway, program.profile, rules)]
    restriction = load_restriction(program.pathway, program.profile, rules)
    if restriction is not None:
        warnings.append(restriction[1])
    return {
        "name": pathway.name,
        "summary": pathway.summary,
        "pain_rule": pathway.pain_rule or "",
        "running": pathway.running.advice if pathway.running is not None else "",
        "advice": [a.text for a in pathway.advice],
        "warnings": warnings,
        "watch_for": [
            f"{w.sign[0].upper()}{w.sign[1:]}: {w.action[0].lower()}{w.action[1:]}"
            for w in pathway.watch_for
        ],
    }


def _data_uri(services: Services, key: str) -> str:
    picture, _ = services.own.photo(key)
    return f"data:{picture.content_type};base64,{base64.b64encode(picture.data).decode()}"


def handout_html(
    services: Services, patient_id: str, today: dt.date, *, weeks: int = DEFAULT_WEEKS
) -> str:
    """The handout as HTML (what `build_handout` lays out)."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"the diary covers 1 to {MAX_WEEKS} weeks, not {weeks}")
    who = person(services, patient_id)
    program = program_of(services, patient_id)
    rules = services.rules_for(patient_id)
    phase = rules.phases[program.phase]
    photos = {
        exercise_id: _data_uri(services, key)
        for exercise_id, key in services.own_photos([s.exercise_id for s in program.slots]).items()
    }
    per_day = f", {program.times_per_day} times a day" if program.times_per_day > 1 else ""
    at_a_glance = [
        {
            "part": PART_TITLES[slot.part],
            "name": rules.library[slot.exercise_id].name,
            "doses": [
                f"{row['side']}: {row['dose']}"
                for row in _dose_rows(slot, rules.library[slot.exercise_id], program, who, rules)
            ],
        }
        for slot in program.slots
    ]
    return render_html(
        "handout.html",
        who=who,
        printed=who.date(today),
        phase_number=program.phase.number,
        phase_label=program.phase.label,
        phase_purpose=phase.purpose,
        days=", ".join(WEEKDAYS[d] for d in program.training_days) + per_day,
        minutes=minutes_shown(program.slots, rules),
        glance=at_a_glance,
        zones=pain_zones(rules.progression),
        after=pain_after(rules.progression, pain_zone(program, rules).after_acceptable_max),
        seek_help=seek_help(load_screening_rules()),
        condition=condition_box(program, rules, _latest_assessment(services, patient_id)),
        referred=referral_words(services, patient_id) if program.state.referred else "",
        flare=program.state.flare is not None,
        cards=[_card(slot, program, services, who, rules, photos) for slot in program.slots],
        diary=diary_weeks(program, today, weeks, who),
        effort_max=rules.progression.spare_effort_rpe_max,
    )


def build_handout(
    services: Services, patient_id: str, today: dt.date, *, weeks: int = DEFAULT_WEEKS
) -> bytes:
    """The home-program handout as PDF bytes (NoProgram when there is nothing to print)."""
    html = handout_html(services, patient_id, today, weeks=weeks)
    return to_pdf(html, "Home program")
