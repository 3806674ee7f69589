"""scikit-learn estimators with ``skops.io``: models that load on another clone without pickle.

A pickled estimator runs code when loaded, so a model trained in CI could not be loaded safely on
a teammate's clone. ``skops.io`` stores the same object as a zip of JSON schema and arrays and
rebuilds it only from types it is told to trust. Loading passes an explicit list: the types
skops reports as untrusted are accepted only when they are scikit-learn classes (an estimator's
helper objects such as ``sklearn.tree._tree.Tree``); anything else fails with its name.

Registered by dotted name (``sklearn.base.BaseEstimator``), so importing this module imports
neither scikit-learn nor skops.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from engine.materializers.base import BaseMaterializer, type_name

__all__ = ["SklearnMaterializer", "trusted_types"]

_CLASS = re.compile(r"^sklearn(\.[A-Za-z_][A-Za-z0-9_]*)*\.[A-Z][A-Za-z0-9_]*$")


def trusted_types(untrusted: list[str]) -> list[str]:
    """The subset of skops' untrusted types mlx trusts: scikit-learn classes only.

    Raises:
        TypeError: some type is outside that set; the message names them.
    """
    refused = [name for name in untrusted if not _CLASS.match(name)]
    if refused:
        raise TypeError(
            f"the skops file holds types mlx does not trust: {', '.join(sorted(refused))}; "
            "it was not written by mlx's SklearnMaterializer for a plain estimator"
        )
    return list(untrusted)


class SklearnMaterializer(BaseMaterializer):
    """scikit-learn estimators and pipelines as one ``skops`` file (no pickle)."""

    ASSOCIATED_TYPE_NAMES = ("sklearn.base.BaseEstimator",)
    ARTIFACT_TYPE = "model"
    FALLBACK_ON_FAILURE = True  # user-defined transformers inside: pickled (with a warning)

    def save(self, data: Any, path: Path) -> None:
        import skops.io

        skops.io.dump(data, path)
        trusted_types(list(skops.io.get_untrusted_types(file=path)))  # loadable back?

    def load(self, data_type: type, path: Path) -> Any:
        import skops.io

        trusted = trusted_types(list(skops.io.get_untrusted_types(file=path)))
        value = skops.io.load(path, trusted=trusted)
        if not isinstance(value, data_type):
            got, wanted = type_name(type(value)), type_name(data_type)
            raise TypeError(f"the file holds a {got}, not a {wanted}")
        return value

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        import sklearn

        params = {k: v for k, v in data.get_params(deep=False).items() if _plain(v)}
        version = sklearn.__version__
        return {"estimator": type_name(type(data)), "sklearn": version, "params": params}


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)
