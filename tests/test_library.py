"""The shipped exercise library: it loads, it is complete, and its ladders make sense."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from groundup.clinical.exercises import Exercise, ExerciseLibrary, Knob, LibraryError
from groundup.clinical.vocabulary import (
    DoseType,
    Equipment,
    Kind,
    Laterality,
    Muscle,
    Phase,
    Role,
)
from groundup.knowledge import KnowledgeError, exercises_from_documents, load_library

EXERCISE_DIR = Path(__file__).parents[1] / "src" / "groundup" / "knowledge" / "data" / "exercises"

LIBRARY = load_library()

# Ids other parts of groundup rely on (from the seeds and the task brief).
REQUIRED_IDS = [
    "backward_walking",
    "deadmill_backward_walking",
    "tibialis_raise_wall",
    "tibialis_raise_single_leg",
    "tibialis_raise_weighted",
    "calf_raise_wall",
    "calf_raise_stair_climber",
    "single_leg_heel_raise",
    "seated_heel_raise",
    "bent_knee_calf_raise",
    "weighted_calf_raise",
    "seated_dorsiflexor_activation",
    "supine_dorsiflexor_activation",
    "seated_evertor_activation",
    "supine_evertor_activation",
    "patrick_step",
    "reverse_nordic_regressed",
    "reverse_nordic_band_assisted",
    "single_leg_hamstring_curl_machine",
    "single_leg_hamstring_curl_standing",
    "assisted_squat_hold",
    "wall_squat_hold",
    "ankle_stretch",
    "toe_stretch",
    "knee_circles",
    "ankle_circles",
    "tibialis_lifts",
    "heel_walks",
    "toe_walks",
    "duck_walks",
    "downward_dog_two_leg",
    "downward_dog_one_leg",
    "zenkutsu_dachi",
    "kokutsu_dachi",
    "neko_dachi",
    "kiba_dachi",
    "kake_ashi_dachi",
    "warrior_one",
    "triangle_pose",
    "band_plantarflexion",
    "band_inversion",
    "band_eversion",
    "toe_abduction",
    "eccentric_calf_lowers",
    "alfredson_heel_drop_straight_knee",
    "alfredson_heel_drop_bent_knee",
    "hsr_calf_raise",
    "single_leg_stance_eyes_closed",
    "single_leg_stance_eyes_open",
    "balance_unstable_surface",
    "step_down",
    "lateral_step_down",
    "single_leg_deadlift",
    "lateral_band_walk",
    "single_leg_bridge",
    "glute_bridge",
    "hinge_pattern",
    "leg_swings",
    "hip_circles",
    "plantar_fascia_mobility",
    "gastrocnemius_stretch",
    "soleus_stretch",
    "hip_flexor_stretch",
    "adductor_stretch",
    "pogo_hops",
    "small_two_leg_hops",
    "short_foot",
    "towel_curls",
    "toe_yoga",
]

PROXIMAL_ONLY_PHASES = {Phase.PROXIMAL_INTEGRATION, Phase.HIGHER_LOAD, Phase.MAINTENANCE}


def raw_exercises() -> list[tuple[str, dict[str, Any]]]:
    """(file name, raw mapping) for every exercise as written in the YAML files."""
    found = []
    for path in sorted(EXERCISE_DIR.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        found.extend((path.name, raw) for raw in document["exercises"])
    return found


def ids_of(exercises: list[Exercise]) -> list[str]:
    return [e.id for e in exercises]


# --- loading and completeness ---------------------------------------------------------


def test_library_loads_with_at_least_sixty_exercises() -> None:
    assert len(LIBRARY) >= 60


@pytest.mark.parametrize("exercise_id", REQUIRED_IDS)
def test_required_exercise_is_present(exercise_id: str) -> None:
    assert exercise_id in LIBRARY


def test_every_yaml_file_opens_with_a_comment_saying_what_it_holds() -> None:
    for path in EXERCISE_DIR.glob("*.yaml"):
        assert path.read_text(encoding="utf-8").startswith("# "), path.name


def test_ids_are_unique_across_files() -> None:
    ids = [raw["id"] for _, raw in raw_exercises()]
    assert len(ids) == len(set(ids))


# --- vocabularies, checked on the raw YAML so a typo cannot slip through a default ----


def test_every_raw_target_muscle_and_role_is_in_the_vocabulary() -> None:
    muscles = {m.value for m in Muscle}
    roles = {r.value for r in Role}
    for file_name, raw in raw_exercises():
        for target in raw["targets"]:
            assert target["muscle"] in muscles, (file_name, raw["id"], target["muscle"])
            assert target["role"] in roles, (file_name, raw["id"], target["role"])


def test_every_raw_phase_and_equipment_is_in_the_vocabulary() -> None:
    phases = {p.value for p in Phase}
    equipment = {e.value for e in Equipment}
    for file_name, raw in raw_exercises():
        assert set(raw["phases"]) <= phases, (file_name, raw["id"])
        assert set(raw["equipment"]) <= equipment, (file_name, raw["id"])


def test_none_is_never_listed_beside_real_equipment() -> None:
    for exercise in LIBRARY.values():
        if Equipment.NONE in exercise.equipment:
            assert exercise.equipment == (Equipment.NONE,), exercise.id


# --- content every exercise needs ------------------------------------------------------


def test_every_exercise_has_a_cue_and_a_step() -> None:
    for exercise in LIBRARY.values():
        assert exercise.cues, exercise.id
        assert exercise.steps, exercise.id


def test_every_reps_exercise_has_a_tempo() -> None:
    for exercise in LIBRARY.values():
        if exercise.dose_type is DoseType.REPS:
            assert exercise.tempo is not None, exercise.id


def test_fault_ids_are_unique_within_each_exercise() -> None:
    for exercise in LIBRARY.values():
        fault_ids = [f.id for f in exercise.faults]
        assert len(fault_ids) == len(set(fault_ids)), exercise.id


def test_every_exercise_cites_a_source() -> None:
    for exercise in LIBRARY.values():
        assert all(source.strip() for source in exercise.sources), exercise.id


# --- phases -----------------------------------------------------------------------------


def test_proximal_strength_exercises_join_in_proximal_integration_or_later() -> None:
    """Strength work led only by muscles above the knee waits for phase 4."""
    loaded_kinds = {Kind.STRENGTH, Kind.ISOMETRIC, Kind.PLYOMETRIC}
    for exercise in LIBRARY.values():
        movers = exercise.prime_movers
        if exercise.kind in loaded_kinds and movers and all(m.is_proximal for m in movers):
            assert set(exercise.phases) <= PROXIMAL_ONLY_PHASES, exercise.id
            assert Phase.ACTIVATION not in exercise.phases, exercise.id


def test_plyometrics_belong_to_higher_load_and_maintenance_only() -> None:
    for exercise in LIBRARY.select(kind=Kind.PLYOMETRIC):
        assert set(exercise.phases) <= {Phase.HIGHER_LOAD, Phase.MAINTENANCE}, exercise.id


def test_warm_ups_suit_every_phase() -> None:
    for exercise in LIBRARY.select(kind=Kind.WARM_UP):
        assert set(exercise.phases) == set(Phase), exercise.id


def test_every_phase_offers_exercises_for_the_lower_leg() -> None:
    for phase in Phase:
        assert LIBRARY.select(phase=phase, muscle=Muscle.TIBIALIS_ANTERIOR), phase
        assert LIBRARY.select(phase=phase, muscle=Muscle.SOLEUS), phase


# --- ladders ----------------------------------------------------------------------------


@pytest.mark.parametrize("exercise_id", sorted(LIBRARY))
def test_ladder_through_each_exercise_resolves(exercise_id: str) -> None:
    ladder = LIBRARY.ladder(exercise_id)
    rungs = ids_of(ladder)
    assert exercise_id in rungs
    assert len(rungs) == len(set(rungs))
    position = rungs.index(exercise_id)
    for easier, harder in pairwise(ladder[: position + 1]):
        assert harder.regression == easier.id
    for easier, harder in pairwise(ladder[position:]):
        assert easier.progression == harder.id


@pytest.mark.parametrize(
    "expected",
    [
        [
            "supine_dorsiflexor_activation",
            "seated_dorsiflexor_activation",
            "tibialis_raise_wall",
            "tibialis_raise_single_leg",
            "tibialis_raise_weighted",
        ],
        ["seated_heel_raise", "calf_raise_wall", "single_leg_heel_raise", "weighted_calf_raise"],
        ["glute_bridge", "single_leg_bridge"],
        [
            "tandem_stance",
            "single_leg_stance_eyes_open",
            "single_leg_stance_eyes_closed",
            "balance_unstable_surface",
        ],
        ["reverse_nordic_band_assisted", "reverse_nordic_regressed"],
        ["patrick_step", "step_down", "lateral_step_down"],
        ["small_two_leg_hops", "pogo_hops", "single_leg_pogo_hops"],
        ["backward_walking", "deadmill_backward_walking"],
        ["hinge_pattern", "single_leg_deadlift"],
    ],
)
def test_core_ladders_run_easiest_first(expected: list[str]) -> None:
    assert ids_of(LIBRARY.ladder(expected[-1])) == expected


def test_single_leg_versions_point_at_one_leg_exercises() -> None:
    for exercise in LIBRARY.values():
        if exercise.single_leg_version is not None:
            assert exercise.laterality is Laterality.BOTH_LEGS
            assert LIBRARY[exercise.single_leg_version].laterality is Laterality.ONE_LEG


# --- seed doses stay faithful -----------------------------------------------------------


@pytest.mark.parametrize(
    ("exercise_id", "sets", "amount"),
    [
        ("tibialis_raise_wall", 2, 25),
        ("calf_raise_wall", 2, 25),
        ("patrick_step", 2, 25),
        ("reverse_nordic_regressed", 2, 25),
        ("single_leg_hamstring_curl_machine", 3, 15),
        ("single_leg_hamstring_curl_standing", 3, 15),
        ("calf_raise_tempo", 3, 20),
        ("alfredson_heel_drop_straight_knee", 3, 15),
        ("alfredson_heel_drop_bent_knee", 3, 15),
        ("backward_walking", 1, 10),
        ("deadmill_backward_walking", 1, 5),
    ],
)
def test_seed_doses_are_kept(exercise_id: str, sets: int, amount: float) -> None:
    dose = LIBRARY[exercise_id].dose
    assert (dose.sets, dose.amount) == (sets, amount)


def test_heel_and_toe_walks_cover_25_to_30_feet() -> None:
    for exercise_id in ("heel_walks", "toe_walks"):
        exercise = LIBRARY[exercise_id]
        assert exercise.dose_type is DoseType.DISTANCE
        assert 7.5 <= exercise.dose.amount <= 9.2  # 25–30 ft


def test_isometric_stances_aim_for_a_minute() -> None:
    for exercise_id in ("zenkutsu_dachi", "kiba_dachi", "warrior_one", "triangle_pose"):
        exercise = LIBRARY[exercise_id]
        assert exercise.dose_type is DoseType.SECONDS
        assert exercise.dose.amount >= 60


def test_hamstring_curl_machine_starts_light() -> None:
    assert LIBRARY["single_leg_hamstring_curl_machine"].default_load_kg == pytest.approx(7)


def test_slow_tempo_exercises_lower_for_three_seconds() -> None:
    for exercise_id in ("calf_raise_tempo", "tibialis_lifts"):
        tempo = LIBRARY[exercise_id].tempo
        assert tempo is not None
        assert (tempo.lowering, tempo.top) == (3, 1)
    hsr = LIBRARY["hsr_calf_raise"].tempo
    assert hsr is not None
    assert (hsr.lifting, hsr.lowering) == (3, 3)


# --- knobs --------------------------------------------------------------------------------

KNOBS: list[tuple[str, Knob]] = sorted(
    (e.id, e.knob) for e in LIBRARY.values() if e.knob is not None
)


def test_most_exercises_have_a_difficulty_knob() -> None:
    assert len(KNOBS) >= len(LIBRARY) * 2 // 3


def knob_settings(knob: Knob) -> list[float | str]:
    if knob.levels is not None:
        return list(knob.levels)
    assert knob.minimum is not None
    assert knob.maximum is not None
    assert knob.step is not None
    count = round((knob.maximum - knob.minimum) / knob.step)
    return [round(knob.minimum + i * knob.step, 3) for i in range(count + 1)]


@given(data=st.data())
def test_harder_then_easier_returns_to_the_same_setting(data: st.DataObject) -> None:
    exercise_id, knob = data.draw(st.sampled_from(KNOBS))
    setting = data.draw(st.sampled_from(knob_settings(knob)))
    harder = knob.harder_setting(setting)
    if harder is not None:
        assert knob.easier_setting(harder) == setting, exercise_id
    easier = knob.easier_setting(setting)
    if easier is not None:
        assert knob.harder_setting(easier) == setting, exercise_id


@given(data=st.data())
def test_harder_moves_the_numeric_knob_the_stated_way(data: st.DataObject) -> None:
    numeric = [(i, k) for i, k in KNOBS if k.levels is None]
    exercise_id, knob = data.draw(st.sampled_from(numeric))
    setting = data.draw(st.sampled_from(knob_settings(knob)))
    harder = knob.harder_setting(setting)
    if harder is None:
        return
    assert isinstance(harder, float | int)
    assert isinstance(setting, float | int)
    if knob.harder == "increase":
        assert harder > setting, exercise_id
    else:
        assert harder < setting, exercise_id


@pytest.mark.parametrize(("exercise_id", "knob"), KNOBS)
def test_knob_default_can_be_stepped_at_least_one_way(exercise_id: str, knob: Knob) -> None:
    steps = (knob.harder_setting(knob.default), knob.easier_setting(knob.default))
    assert any(s is not None for s in steps), exercise_id
    assert knob.easier_how != knob.harder_how


def test_band_knobs_run_through_the_colour_levels() -> None:
    colours = ("yellow", "red", "green", "blue", "black")
    for exercise_id in ("band_inversion", "band_eversion", "band_plantarflexion"):
        knob = LIBRARY[exercise_id].knob
        assert knob is not None
        assert knob.levels == colours
        assert knob.harder_setting("yellow") == "red"
        assert knob.harder_setting("black") is None


def test_moving_the_feet_further_from_the_wall_makes_the_tib_raise_harder() -> None:
    knob = LIBRARY["tibialis_raise_wall"].knob
    assert knob is not None
    assert knob.harder_setting(30) == 35
    assert knob.easier_setting(30) == 25


# --- the library as a whole rejects bad sets -------------------------------------------


def test_library_rejects_a_duplicate_id() -> None:
    raise_ = LIBRARY["calf_raise_wall"]
    twin = raise_.model_copy(update={"name": "Another calf raise"})
    with pytest.raises(LibraryError, match="appears twice"):
        ExerciseLibrary([raise_, twin])


def test_library_rejects_a_dangling_link() -> None:
    lonely = LIBRARY["glute_bridge"].model_copy(
        update={"progression": "no_such_exercise", "single_leg_version": None}
    )
    with pytest.raises(LibraryError, match="no_such_exercise"):
        ExerciseLibrary([lonely])


def test_library_rejects_a_ladder_that_loops() -> None:
    bridge = LIBRARY["glute_bridge"].model_copy(update={"regression": "single_leg_bridge"})
    single = LIBRARY["single_leg_bridge"].model_copy(update={"progression": "glute_bridge"})
    with pytest.raises(LibraryError, match="loops"):
        ExerciseLibrary([bridge, single])


def test_library_accepts_the_same_pair_without_the_loop() -> None:
    pair = ExerciseLibrary([LIBRARY["glute_bridge"], LIBRARY["single_leg_bridge"]])
    assert ids_of(pair.ladder("single_leg_bridge")) == ["glute_bridge", "single_leg_bridge"]


# --- loading errors name the file and the exercise --------------------------------------


def test_a_bad_muscle_is_reported_with_file_and_exercise_id() -> None:
    file_name, raw = next((f, r) for f, r in raw_exercises() if r["id"] == "calf_raise_wall")
    broken = {**raw, "targets": [{"muscle": "biceps", "role": "prime_mover"}]}
    broken.pop("regression")
    broken.pop("progression")
    broken.pop("single_leg_version")
    with pytest.raises(KnowledgeError) as caught:
        exercises_from_documents({file_name: {"exercises": [broken]}})
    message = str(caught.value)
    assert file_name in message
    assert "calf_raise_wall" in message
    assert "targets" in message


def test_a_dangling_link_in_a_document_becomes_a_knowledge_error() -> None:
    _, raw = next((f, r) for f, r in raw_exercises() if r["id"] == "glute_bridge")
    with pytest.raises(KnowledgeError, match="single_leg_bridge"):
        exercises_from_documents({"hips.yaml": {"exercises": [raw]}})


def test_a_document_without_an_exercises_list_is_rejected() -> None:
    with pytest.raises(KnowledgeError, match=r"broken\.yaml"):
        exercises_from_documents({"broken.yaml": {"exercise": []}})


@pytest.mark.parametrize(
    "exercise_id", ["alfredson_heel_drop_straight_knee", "alfredson_heel_drop_bent_knee"]
)
def test_the_pain_limit_on_alfredson_drops_is_named_as_silbernagels(exercise_id: str) -> None:
    exercise = LIBRARY[exercise_id]
    capped = [c for c in exercise.cautions if "5 out of 10" in c]
    assert capped
    for caution in capped:
        assert "Silbernagel" in caution
        assert "in this protocol" not in caution
    assert any("Silbernagel" in source for source in exercise.sources)
