"""The explicit last resort: pickle whatever no other materializer claims.

Pickle is never registered for a type. :func:`~engine.materializers.base.materializer_for` falls
back to it when nothing matches and warns once per type, because a pickle only loads with the
same code and compatible library versions (which the metadata records) and loading one runs
code: only load artifacts you trust. Users can also attach :class:`PickleMaterializer` to an
output on purpose (object arrays, opaque third-party objects).

Whether an artifact is a model is decided from the type, so it is a class attribute the
executor can read: objects with ``fit`` and ``predict`` (scikit-learn estimators and pipelines)
get :class:`ModelPickleMaterializer`, whose ``ARTIFACT_TYPE`` is ``"model"``.
"""

from __future__ import annotations

import pickle
import platform
import sys
import warnings
from pathlib import Path
from typing import Any

from engine.materializers.base import BaseMaterializer, type_name

__all__ = [
    "ModelPickleMaterializer",
    "PickleFallbackWarning",
    "PickleMaterializer",
    "fallback_for",
    "looks_like_model",
]

# Fixed rather than HIGHEST_PROTOCOL so the bytes (and so the content hash) do not change with
# the interpreter version.
PROTOCOL = 5

_warned: set[type] = set()


class PickleFallbackWarning(UserWarning):
    """A value is being pickled because no materializer is registered for its type."""


class PickleMaterializer(BaseMaterializer):
    """Any picklable value, as one pickle file. Loading one runs code: it needs trust."""

    LOADS_CODE = True

    def save(self, data: Any, path: Path) -> None:
        with path.open("wb") as file:
            pickle.dump(data, file, protocol=PROTOCOL)

    def load(self, data_type: type, path: Path) -> Any:
        with path.open("rb") as file:
            value = pickle.load(file)
        if not isinstance(value, data_type):
            raise TypeError(
                f"the pickle holds a {type_name(type(value))}, not a {type_name(data_type)}"
            )
        return value

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "python": platform.python_version(),
            "protocol": PROTOCOL,
            "type": type_name(type(data)),
        }
        # A pickle of a library object only loads with a compatible version of that library.
        package = type(data).__module__.partition(".")[0]
        version = getattr(sys.modules.get(package), "__version__", None)
        if package != "builtins" and isinstance(version, str):
            metadata["library"] = {package: version}
        return metadata


class ModelPickleMaterializer(PickleMaterializer):
    """The pickle fallback for estimator-like objects (``fit`` and ``predict``): a model."""

    ARTIFACT_TYPE = "model"


def looks_like_model(data_type: type) -> bool:
    """Whether instances of ``data_type`` look like an estimator (callable fit and predict)."""
    return callable(getattr(data_type, "fit", None)) and callable(
        getattr(data_type, "predict", None)
    )


def fallback_for(data_type: type) -> type[PickleMaterializer]:
    """Return the pickle materializer for an unregistered type, warning once per type."""
    if data_type not in _warned:
        _warned.add(data_type)
        warnings.warn(
            f"no materializer is registered for {type_name(data_type)}, so it will be pickled;"
            " a pickle only loads with the same code and library versions. To store it"
            " differently, subclass engine.materializers.BaseMaterializer and call"
            f" engine.materializers.register(YourMaterializer, [{data_type.__qualname__}]),"
            " or attach a materializer to this output",
            PickleFallbackWarning,
            stacklevel=3,
        )
    return ModelPickleMaterializer if looks_like_model(data_type) else PickleMaterializer
