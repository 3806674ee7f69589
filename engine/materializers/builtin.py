"""Materializers for values that need nothing beyond the standard library and pydantic.

- :class:`JsonMaterializer`: ``None``, bool, int, float, str, list, tuple, dict, as one strict
  JSON file. Plain JSON loses tuples, non-string keys and non-finite floats, so those are written
  as small tagged objects (``{"$tuple": [...]}``, ``{"$items": [[k, v], ...]}``,
  ``{"$float": "nan"}``); everything else stays plain JSON that any tool can read.
  Subclasses (``OrderedDict``, ``Counter``, named tuples, int/str enums) are rebuilt with their
  type on load; one that cannot be rebuilt from its plain value (``defaultdict``) fails at save
  time rather than at load time, with a hint.
- :class:`BytesMaterializer`: ``bytes``/``bytearray`` as a raw file.
- :class:`PydanticMaterializer`: pydantic models through their own JSON, registered by name.
- :class:`DataclassMaterializer`: dataclasses through ``asdict`` and the tagged JSON, rebuilt
  with the recorded type (nested dataclasses, and lists/tuples/dicts of them, follow the hints).
- :class:`PathMaterializer`: a file or directory copied into the artifact under its own name;
  loading hands back a writable copy in a fresh temporary directory, never the cache.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import stat
import types
import typing
from pathlib import Path
from typing import Any

from engine.materializers.base import BaseMaterializer, type_name
from store.scratch import make_temp_dir

__all__ = [
    "BytesMaterializer",
    "DataclassMaterializer",
    "JsonMaterializer",
    "PathMaterializer",
    "PydanticMaterializer",
    "from_jsonable",
    "to_jsonable",
]

_TAGS = frozenset({"$tuple", "$items", "$float", "$dict"})
_PREVIEW = 200


def to_jsonable(value: Any) -> Any:
    """Encode a tree of JSON-like values so that :func:`from_jsonable` restores it exactly.

    Raises:
        TypeError: the tree holds a value JSON cannot represent.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else {"$float": repr(float(value))}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, list):
        return [to_jsonable(item) for item in value]
    if isinstance(value, tuple):
        return {"$tuple": [to_jsonable(item) for item in value]}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            obj = {str(key): to_jsonable(item) for key, item in value.items()}
            # A lone "$..." key would read back as a tag; escape it.
            return {"$dict": obj} if len(obj) == 1 and next(iter(obj)).startswith("$") else obj
        return {"$items": [[to_jsonable(k), to_jsonable(v)] for k, v in value.items()]}
    raise TypeError(
        f"a {type_name(type(value))} value cannot be stored as JSON; convert it to a JSON type"
        " or attach another materializer (e.g. PickleMaterializer) to this output"
    )


def from_jsonable(value: Any) -> Any:
    """Decode what :func:`to_jsonable` produced."""
    if isinstance(value, list):
        return [from_jsonable(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and (tag := next(iter(value))) in _TAGS:
        inner = value[tag]
        if tag == "$tuple":
            return tuple(from_jsonable(item) for item in inner)
        if tag == "$items":
            return {from_jsonable(k): from_jsonable(v) for k, v in inner}
        if tag == "$float":
            return float(inner)
        return {key: from_jsonable(item) for key, item in inner.items()}
    return {key: from_jsonable(item) for key, item in value.items()}


def _write_json(value: Any, path: Path) -> None:
    text = json.dumps(to_jsonable(value), ensure_ascii=False, allow_nan=False)
    path.write_text(text, encoding="utf-8")


def _read_json(path: Path) -> Any:
    return from_jsonable(json.loads(path.read_text(encoding="utf-8")))


_JSON_TYPES: tuple[type, ...] = (type(None), bool, int, float, str, list, dict, tuple)


class JsonMaterializer(BaseMaterializer):
    """None, bool, int, float, str, list, dict and tuple (and their subclasses) as one JSON file."""

    ASSOCIATED_TYPES = _JSON_TYPES

    def save(self, data: Any, path: Path) -> None:
        _write_json(data, path)
        if type(data) not in _JSON_TYPES:
            self._check_rebuildable(data)

    def load(self, data_type: type, path: Path) -> Any:
        value = _read_json(path)
        return value if data_type in _JSON_TYPES else _rebuild(data_type, value)

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        if isinstance(data, list | tuple | dict):
            return {"length": len(data)}
        if isinstance(data, str):
            return {"length": len(data), **({"value": str(data)} if len(data) <= _PREVIEW else {})}
        if isinstance(data, float) and not math.isfinite(data):
            return {"value": repr(float(data))}
        return {"value": to_jsonable(data)}

    @staticmethod
    def _check_rebuildable(data: Any) -> None:
        tp = type(data)
        try:
            rebuilt = _rebuild(tp, from_jsonable(to_jsonable(data)))
        except Exception as exc:
            raise TypeError(
                f"{type_name(tp)} cannot be rebuilt from its JSON value ({exc}); convert it to a"
                " plain type, register a materializer for it, or attach PickleMaterializer"
            ) from exc
        if not isinstance(rebuilt, tp):
            raise TypeError(f"{type_name(tp)} does not rebuild as itself from its JSON value")


def _rebuild(data_type: type, value: Any) -> Any:
    if issubclass(data_type, tuple) and hasattr(data_type, "_make"):  # named tuples
        return data_type._make(value)
    return data_type(value)


class BytesMaterializer(BaseMaterializer):
    """bytes and bytearray as a raw file."""

    ASSOCIATED_TYPES = (bytes, bytearray)

    def save(self, data: Any, path: Path) -> None:
        path.write_bytes(data)

    def load(self, data_type: type, path: Path) -> Any:
        raw = path.read_bytes()
        return raw if data_type is bytes else data_type(raw)

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        return {"size": len(data)}


class PydanticMaterializer(BaseMaterializer):
    """pydantic models as their own JSON, validated back into the recorded model class."""

    ASSOCIATED_TYPE_NAMES = ("pydantic.main.BaseModel",)

    def save(self, data: Any, path: Path) -> None:
        path.write_text(data.model_dump_json(), encoding="utf-8")

    def load(self, data_type: type, path: Path) -> Any:
        return typing.cast(Any, data_type).model_validate_json(path.read_bytes())

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        return {"fields": list(type(data).model_fields)}


class DataclassMaterializer(BaseMaterializer):
    """Dataclass instances as JSON of their fields, rebuilt with the recorded type."""

    def save(self, data: Any, path: Path) -> None:
        _write_json(dataclasses.asdict(data), path)

    def load(self, data_type: type, path: Path) -> Any:
        return _build(data_type, _read_json(path))

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        return {"fields": [field.name for field in dataclasses.fields(data)]}


def is_dataclass_type(data_type: type) -> bool:
    """Whether ``data_type`` is a dataclass (the predicate that selects DataclassMaterializer)."""
    return dataclasses.is_dataclass(data_type)


def _build(tp: Any, value: Any) -> Any:
    """Rebuild dataclasses inside ``value`` by following the type hint ``tp``."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(value, dict):
        hints = _hints(tp)
        kwargs = {
            field.name: _build(hints.get(field.name), value[field.name])
            for field in dataclasses.fields(tp)
            if field.init and field.name in value
        }
        return tp(**kwargs)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (list, set, frozenset) and args and isinstance(value, list | tuple):
        return origin(_build(args[0], item) for item in value)
    if origin is tuple and args and isinstance(value, tuple):
        item_types = [args[0]] * len(value) if args[-1] is Ellipsis else list(args)
        return tuple(_build(t, item) for t, item in zip(item_types, value, strict=False))
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {key: _build(args[1], item) for key, item in value.items()}
    if origin in (typing.Union, types.UnionType) and isinstance(value, dict):
        for arg in args:  # the first dataclass in `A | None`
            if isinstance(arg, type) and dataclasses.is_dataclass(arg):
                return _build(arg, value)
    return value


def _hints(tp: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(tp)
    except Exception:  # unresolvable forward references: rebuild what the raw annotations allow
        return {field.name: field.type for field in dataclasses.fields(tp)}


class PathMaterializer(BaseMaterializer):
    """A file or a directory, copied into the artifact under its own name."""

    ASSOCIATED_TYPES = (Path,)

    def save(self, data: Any, path: Path) -> None:
        source = Path(data)
        if not source.exists():
            raise FileNotFoundError(f"{source} does not exist")
        # The artifact is a directory holding the copy, so the original name (and suffix) survive.
        path.mkdir()
        _copy(source, path / source.name)

    def load(self, data_type: type, path: Path) -> Any:
        entries = list(path.iterdir())
        if len(entries) != 1:
            raise ValueError(f"expected exactly one entry in {path}, found {len(entries)}")
        copy = make_temp_dir("mlx-path-") / entries[0].name  # removed at exit
        _copy(entries[0], copy)
        _make_writable(copy)
        return data_type(copy)

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        source = Path(data)
        if source.is_dir():
            files = [p for p in source.rglob("*") if p.is_file()]
            size = sum(p.stat().st_size for p in files)
            return {"name": source.name, "kind": "directory", "files": len(files), "size": size}
        return {"name": source.name, "kind": "file", "size": source.stat().st_size}


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)


def _make_writable(path: Path) -> None:
    paths = [path, *path.rglob("*")] if path.is_dir() else [path]
    for item in paths:
        os.chmod(item, item.stat().st_mode | stat.S_IWUSR)
