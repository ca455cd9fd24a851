"""Readiness to hop and to run, read from the latest test results.

Hopping exercises join a program only when the hop-readiness criteria are met; the
walk-run plan only when the run-readiness criteria are. Both sets of criteria are data
(knowledge/data/readiness.yaml) with their sources; a criterion whose test was not done
is not met (or, if it is marked optional, not counted).
"""

from __future__ import annotations

from groundup.clinical.exercises import Frozen
from groundup.clinical.profile import ImbalanceProfile
from groundup.clinical.rules import GateCriterion, ReadinessCheck, ReadinessCriterion, Rules
from groundup.clinical.vocabulary import Irritability


class CriterionResult(Frozen):
    id: str
    met: bool
    counted: bool
    text: str
    numbers: str


class ReadinessResult(Frozen):
    name: str
    met: bool
    results: tuple[CriterionResult, ...]

    @property
    def unmet(self) -> tuple[CriterionResult, ...]:
        return tuple(r for r in self.results if r.counted and not r.met)

    @property
    def untested(self) -> bool:
        """Some required test was not done at all."""
        return any(r.counted and not r.met and r.numbers == "not tested" for r in self.results)


def _criterion(
    profile: ImbalanceProfile, criterion: ReadinessCriterion, rules: Rules
) -> CriterionResult:
    def result(met: bool, numbers: str, counted: bool = True) -> CriterionResult:
        return CriterionResult(
            id=criterion.id, met=met, counted=counted, text=criterion.text, numbers=numbers
        )

    if criterion.kind == "irritability_not_high":
        level = profile.irritability.level
        return result(level is not Irritability.HIGH, f"irritability {level.value}")
    assert criterion.test is not None and criterion.threshold is not None
    comparison = profile.comparison(criterion.test)
    short = rules.assessment.tests[criterion.test].short
    if comparison is None or comparison.left is None or comparison.right is None:
        return result(False, "not tested", counted=criterion.required)
    if criterion.kind == "min_value":
        lower = min(comparison.left, comparison.right)
        return result(
            lower >= criterion.threshold,
            f"{short} left {comparison.left:g}, right {comparison.right:g}; needs "
            f"{criterion.threshold:g} on each",
        )
    lsi = comparison.lsi if comparison.lsi is not None else 100.0
    return result(
        lsi >= criterion.threshold, f"{short} LSI {lsi:g} %; needs {criterion.threshold:g} %"
    )


def check(profile: ImbalanceProfile, readiness: ReadinessCheck, rules: Rules) -> ReadinessResult:
    """Every criterion of one readiness check against the profile's latest tests."""
    results = tuple(_criterion(profile, c, rules) for c in readiness.criteria)
    return ReadinessResult(
        name=readiness.name,
        met=all(r.met for r in results if r.counted),
        results=results,
    )


def hop_ready(profile: ImbalanceProfile, rules: Rules) -> ReadinessResult:
    """Whether hopping exercises may join the program."""
    return check(profile, rules.readiness.hop, rules)


def run_ready(profile: ImbalanceProfile, rules: Rules) -> ReadinessResult:
    """Whether the walk-run plan may start."""
    return check(profile, rules.readiness.run, rules)


def hop_gate_status(
    profile: ImbalanceProfile, criterion: GateCriterion, rules: Rules, *, fresh: bool
) -> tuple[bool, str, bool]:
    """A `hop_ready` phase-gate criterion: (met, the numbers, a fresh hop test is needed)."""
    assert criterion.kind == "hop_ready"
    if not fresh:
        return False, "no fresh hop test in this phase", True
    result = hop_ready(profile, rules)
    numbers = "; ".join(r.numbers for r in result.results if r.counted)
    return result.met, numbers, not result.met


def describe_unmet(result: ReadinessResult) -> str:
    """The unmet criteria as one plain clause list, with the numbers."""
    return "; ".join(
        f"{r.text[0].lower()}{r.text[1:].rstrip('.')} ({r.numbers})" for r in result.unmet
    )
