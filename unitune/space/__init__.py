"""Search spaces: dimensions, the Space mapping and grid enumeration."""

from unitune.space.dimensions import Categorical, Constant, Dimension, Float, Int, expit, logit
from unitune.space.grid import Grid
from unitune.space.space import Condition, Space, dimension_from_dict

__all__ = [
    "Categorical",
    "Condition",
    "Constant",
    "Dimension",
    "Float",
    "Grid",
    "Int",
    "Space",
    "dimension_from_dict",
    "expit",
    "logit",
]
