"""scikit-learn estimators with ``skops.io``: models that load on another clone without pickle.

A pickled estimator runs code when loaded, so a model trained in CI could not be loaded safely on
a teammate's clone. ``skops.io`` stores the same object as a zip of JSON schema and arrays and
rebuilds it only from types it is told to trust. The same model gives the same bytes (see
:func:`reproducible`), so its md5, and the cache keys of the steps reading it, do not depend
on when or in which process it was trained. Loading passes an explicit list: the types
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

__all__ = ["SklearnMaterializer", "reproducible", "trusted_types"]

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


_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip member can carry
_ARRAY = re.compile(r"^\d+\.\w+$")  # an array member named by an object id: 140234.npy


def reproducible(path: Path) -> None:
    """Rewrite the skops zip at ``path`` so that equal models give equal bytes.

    skops names objects by their ``id()`` in the saving process (``__id__`` in ``schema.json``
    and the ``<id>.npy`` array members) and stamps members with the current time. Ids are
    renumbered in order of first appearance (the same object keeps one number, so shared
    references stay shared) and every member gets a fixed time; member order and contents
    are kept.
    """
    import json
    import zipfile

    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    numbers: dict[str, str] = {}

    def number(old: str) -> str:
        return numbers.setdefault(old, str(len(numbers) + 1))

    def renumber(node: Any) -> Any:
        if isinstance(node, list):
            return [renumber(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "__id__" and isinstance(value, int):
                out[key] = int(number(str(value)))
            elif key == "file" and isinstance(value, str) and _ARRAY.match(value):
                stem, suffix = value.split(".", 1)
                out[key] = f"{number(stem)}.{suffix}"
            else:
                out[key] = renumber(value)
        return out

    schema = next(data for info, data in members if info.filename == "schema.json")
    canonical = json.dumps(renumber(json.loads(schema)), indent=2).encode()
    tmp = path.with_name(f"{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for info, data in members:
            name = info.filename
            if name == "schema.json":
                data = canonical
            elif _ARRAY.match(name):
                stem, suffix = name.split(".", 1)
                name = f"{number(stem)}.{suffix}"
            fixed = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            archive.writestr(fixed, data)
    tmp.replace(path)


class SklearnMaterializer(BaseMaterializer):
    """scikit-learn estimators and pipelines as one ``skops`` file (no pickle)."""

    ASSOCIATED_TYPE_NAMES = ("sklearn.base.BaseEstimator",)
    ARTIFACT_TYPE = "model"
    FALLBACK_ON_FAILURE = True  # user-defined transformers inside: pickled (with a warning)

    def save(self, data: Any, path: Path) -> None:
        import skops.io

        skops.io.dump(data, path)
        reproducible(path)
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
