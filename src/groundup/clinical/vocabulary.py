"""The fixed vocabularies every part of groundup speaks: muscles, phases, sides, equipment."""

from __future__ import annotations

from enum import StrEnum


class Muscle(StrEnum):
    """Muscle groups the method assesses and trains."""

    TIBIALIS_ANTERIOR = "tibialis_anterior"
    GASTROCNEMIUS = "gastrocnemius"
    SOLEUS = "soleus"
    PERONEALS = "peroneals"
    TIBIALIS_POSTERIOR = "tibialis_posterior"
    INTRINSIC_FOOT = "intrinsic_foot"  # intrinsic foot muscles and long toe flexors
    TOE_EXTENSORS = "toe_extensors"
    QUADRICEPS = "quadriceps"
    HAMSTRINGS = "hamstrings"
    GLUTEALS = "gluteals"
    HIP_ABDUCTORS = "hip_abductors"
    CORE = "core"

    @property
    def label(self) -> str:
        return MUSCLE_LABELS[self]

    @property
    def is_proximal(self) -> bool:
        """Muscles above the knee joint line: they join the program in proximal integration."""
        return self in PROXIMAL_MUSCLES


MUSCLE_LABELS: dict[Muscle, str] = {
    Muscle.TIBIALIS_ANTERIOR: "tibialis anterior (shin)",
    Muscle.GASTROCNEMIUS: "gastrocnemius (calf, straight knee)",
    Muscle.SOLEUS: "soleus (calf, bent knee)",
    Muscle.PERONEALS: "peroneals (outer shin, evertors)",
    Muscle.TIBIALIS_POSTERIOR: "tibialis posterior (inner shin, invertors)",
    Muscle.INTRINSIC_FOOT: "intrinsic foot muscles and toe flexors",
    Muscle.TOE_EXTENSORS: "toe extensors",
    Muscle.QUADRICEPS: "quadriceps",
    Muscle.HAMSTRINGS: "hamstrings",
    Muscle.GLUTEALS: "gluteals",
    Muscle.HIP_ABDUCTORS: "hip abductors",
    Muscle.CORE: "core (trunk and pelvis)",
}

PROXIMAL_MUSCLES = frozenset(
    {Muscle.QUADRICEPS, Muscle.HAMSTRINGS, Muscle.GLUTEALS, Muscle.HIP_ABDUCTORS, Muscle.CORE}
)


class Role(StrEnum):
    """The part a muscle plays in an exercise."""

    PRIME_MOVER = "prime_mover"
    SYNERGIST = "synergist"
    STABILISER = "stabiliser"
    STRETCHED = "stretched"


class Phase(StrEnum):
    """The six phases of the method, in order."""

    ACTIVATION = "activation"
    LOW_LOAD_RESISTANCE = "low_load_resistance"
    DYNAMIC_STABILITY = "dynamic_stability"
    PROXIMAL_INTEGRATION = "proximal_integration"
    HIGHER_LOAD = "higher_load"
    MAINTENANCE = "maintenance"

    @property
    def number(self) -> int:
        return PHASE_ORDER.index(self) + 1

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    def next(self) -> Phase | None:
        index = PHASE_ORDER.index(self)
        return PHASE_ORDER[index + 1] if index + 1 < len(PHASE_ORDER) else None

    def previous(self) -> Phase | None:
        index = PHASE_ORDER.index(self)
        return PHASE_ORDER[index - 1] if index > 0 else None


PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)


class Position(StrEnum):
    SUPINE = "supine"
    SEATED = "seated"
    STANDING = "standing"
    KNEELING = "kneeling"
    PRONE = "prone"
    QUADRUPED = "quadruped"
    WALKING = "walking"


class Equipment(StrEnum):
    NONE = "none"
    WALL = "wall"
    BAND = "band"
    DUMBBELL = "dumbbell"
    ANKLE_WEIGHT = "ankle_weight"
    MACHINE = "machine"
    STEP = "step"
    TREADMILL = "treadmill"
    UNSTABLE_SURFACE = "unstable_surface"
    TOWEL = "towel"
    CHAIR = "chair"
    SUPPORT_POLE = "support_pole"
    OVERHEAD_ANCHOR = "overhead_anchor"
    BACKPACK = "backpack"
    STAIR_CLIMBER = "stair_climber"


class Laterality(StrEnum):
    BOTH_LEGS = "both_legs"  # both legs work together
    ONE_LEG = "one_leg"  # one leg at a time: dosed per side


class DoseType(StrEnum):
    REPS = "reps"
    SECONDS = "seconds"
    MINUTES = "minutes"
    DISTANCE = "distance"  # metres

    @property
    def unit(self) -> str:
        return {"reps": "reps", "seconds": "s", "minutes": "min", "distance": "m"}[self.value]


class Kind(StrEnum):
    """Which part of a session an exercise belongs to."""

    WARM_UP = "warm_up"
    STRENGTH = "strength"
    BALANCE = "balance"
    GAIT = "gait"
    PLYOMETRIC = "plyometric"
    MOBILITY = "mobility"
    ISOMETRIC = "isometric"


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"

    @property
    def other(self) -> Side:
        return Side.RIGHT if self is Side.LEFT else Side.LEFT


class Severity(StrEnum):
    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"

    @property
    def rank(self) -> int:
        return ["none", "mild", "moderate", "severe"].index(self.value)


class Irritability(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
