"""The plan's reasons in the person's words: the planner writes them precisely, for the
clinician; the person reads them without limb symmetry indices, muscle names in Latin or
citation marks."""

from __future__ import annotations

import re

from groundup.clinical.profile import AssessmentRules
from groundup.clinical.vocabulary import MUSCLE_LABELS, Muscle

PERSON_MUSCLES: dict[Muscle, str] = {
    Muscle.TIBIALIS_ANTERIOR: "shin muscles",
    Muscle.GASTROCNEMIUS: "calf",
    Muscle.SOLEUS: "deep calf muscle",
    Muscle.PERONEALS: "muscles on the outside of the ankle",
    Muscle.TIBIALIS_POSTERIOR: "muscle that holds up the arch",
    Muscle.INTRINSIC_FOOT: "small muscles of the foot",
    Muscle.TOE_EXTENSORS: "muscles that lift the toes",
    Muscle.QUADRICEPS: "front of the thigh",
    Muscle.HAMSTRINGS: "back of the thigh",
    Muscle.GLUTEALS: "seat muscles",
    Muscle.HIP_ABDUCTORS: "muscles on the side of the hip",
    Muscle.CORE: "trunk",
}

# A citation is a parenthesis that names a source or carries a confidence mark.
_MARK = re.compile(r"\[(?:P|S|U)(?:/(?:P|S|U))?\]|Source:|et al\.|clinical reference §|seeds/")
_LSI = re.compile(r"the (left|right) ([\w -]+?) LSI is ([\d.]+) %")
_RATIO = re.compile(r"the (left|right) shin-to-calf endurance ratio is ([\d.]+)")


def _without_citations(text: str) -> str:
    """Drop every parenthesis (nested ones included) that cites a source."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "(":
            depth, j = 0, i
            while j < len(text):
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            inner = text[i : j + 1]
            if _MARK.search(inner):
                while out and out[-1] == " ":
                    out.pop()
                i = j + 1
                continue
        out.append(text[i])
        i += 1
    return re.sub(r"\s+([.,;])", r"\1", "".join(out)).replace("..", ".")


def person_words(text: str, tests: AssessmentRules) -> str:
    """One reason, as the person reads it."""
    labels = {t.short: t.person_label for t in tests.tests.values()}

    def lsi(match: re.Match[str]) -> str:
        side, short, value = match.groups()
        test = labels.get(short, f"{short} test")
        return f"your {side} leg managed {float(value):g} % of the other leg's result on the {test}"

    def ratio(match: re.Match[str]) -> str:
        return f"your {match.group(1)} shin muscles tire much sooner than your calf"

    text = _without_citations(text)
    text = _LSI.sub(lsi, text)
    text = _RATIO.sub(ratio, text)
    for muscle, label in sorted(MUSCLE_LABELS.items(), key=lambda m: -len(m[1])):
        text = text.replace(label, PERSON_MUSCLES[muscle])
    return text.replace(" LSI ", " side-to-side result ")


def in_words(items: list[str], last: str = "and") -> str:
    """Words in a sentence: "a", "a and b", "a, b and c" (or "or")."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"
