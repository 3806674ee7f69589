"""Materializers: how step outputs become files (and back), and which type uses which.

Every built-in is registered here, in one visible list, by explicit :func:`register` calls;
importing this package imports neither numpy nor pandas (they are registered by dotted name and
imported only when a value of theirs is saved or loaded). Every built-in avoids pickle;
scikit-learn estimators go through ``skops``; pickle is only the explicit fallback. Custom
types: subclass :class:`BaseMaterializer` and :func:`register` it, or attach it to one output.
"""

from __future__ import annotations

from engine.materializers.base import (
    BaseMaterializer,
    known_materializers,
    load_value,
    loads_code,
    materializer_for,
    materializer_name,
    register,
    register_fallback,
    register_predicate,
    resolve_materializer,
    resolve_type,
    save_value,
    type_name,
)
from engine.materializers.builtin import (
    BytesMaterializer,
    DataclassMaterializer,
    JsonMaterializer,
    PathMaterializer,
    PydanticMaterializer,
    is_dataclass_type,
)
from engine.materializers.numeric import (
    DataFrameMaterializer,
    NumpyMaterializer,
    SeriesMaterializer,
)
from engine.materializers.pickle import (
    ModelPickleMaterializer,
    PickleFallbackWarning,
    PickleMaterializer,
    fallback_for,
)
from engine.materializers.sklearn import SklearnMaterializer
from engine.materializers.text import TextMaterializer

__all__ = [
    "BaseMaterializer",
    "BytesMaterializer",
    "DataFrameMaterializer",
    "DataclassMaterializer",
    "JsonMaterializer",
    "ModelPickleMaterializer",
    "NumpyMaterializer",
    "PathMaterializer",
    "PickleFallbackWarning",
    "PickleMaterializer",
    "PydanticMaterializer",
    "SeriesMaterializer",
    "SklearnMaterializer",
    "TextMaterializer",
    "known_materializers",
    "load_value",
    "loads_code",
    "materializer_for",
    "materializer_name",
    "register",
    "register_fallback",
    "register_predicate",
    "resolve_materializer",
    "resolve_type",
    "save_value",
    "type_name",
]


def _register_builtins() -> None:
    for materializer in (
        JsonMaterializer,
        BytesMaterializer,
        PydanticMaterializer,
        PathMaterializer,
        NumpyMaterializer,
        DataFrameMaterializer,
        SeriesMaterializer,
        SklearnMaterializer,
        TextMaterializer,
    ):
        register(materializer)
    register_predicate(is_dataclass_type, DataclassMaterializer)
    register_fallback(fallback_for)


_register_builtins()
