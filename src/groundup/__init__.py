"""groundup: stepwise, criteria-based strengthening for lower-leg muscle imbalances."""

__version__ = "0.1.0"
