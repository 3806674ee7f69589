"""The materializer seam: the `BaseMaterializer` contract, the type registry, safe save and load.

A materializer turns one Python value into one file or one directory and back. The executor never
calls a materializer directly; it calls :func:`save_value` and :func:`load_value`, which

- pick the materializer: explicit :func:`register` calls, looked up along the value type's MRO,
  then structural predicates (dataclasses), then the pickle fallback with a warning;
- stage every write in a temporary sibling of the target and ``os.replace()`` it into place, so a
  crash never leaves half an artifact where the store would hash it;
- turn any exception into a :class:`MaterializerError` that names the type and the materializer.

Records name materializers and types as strings; those strings are resolved only against what
this process knows (:func:`resolve_materializer`, :func:`resolve_type`), never imported as
given, so a crafted record cannot import a module or pick a code-running loader by itself.

Types register either as objects or as dotted names (``"numpy.ndarray"``), so the numpy and pandas
materializers are known without importing numpy or pandas: the CLI must never import them.
Registration is explicit (a function call), never a metaclass side effect, so what is registered
is visible in one place (``engine/materializers/__init__.py``).
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import shutil
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from store.errors import MaterializerError, ValidationError, did_you_mean

__all__ = [
    "BaseMaterializer",
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


class BaseMaterializer(ABC):
    """Save a value to a path and load it back. Subclass and :func:`register` for custom types.

    Attributes:
        ASSOCIATED_TYPES: types this materializer handles (subclasses too, through the MRO).
        ASSOCIATED_TYPE_NAMES: the same as dotted ``"module.QualName"`` strings, for types whose
            module must not be imported just to register them (``"numpy.ndarray"``).
        ARTIFACT_TYPE: ``"data"`` or ``"model"``; recorded with each artifact version.
        LOADS_CODE: loading runs code from the bytes (pickle); such loads need trust.
    """

    ASSOCIATED_TYPES: ClassVar[tuple[type, ...]] = ()
    ASSOCIATED_TYPE_NAMES: ClassVar[tuple[str, ...]] = ()
    ARTIFACT_TYPE: ClassVar[str] = "data"
    LOADS_CODE: ClassVar[bool] = False
    """True when loading can run code from the bytes (pickle): gated by trust, never previewed."""
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[Any] = None  # ZenML's name: ArtifactType.MODEL = model
    FALLBACK_ON_FAILURE: ClassVar[bool] = False
    """When chosen by type and a value cannot be saved, use the registered fallback instead."""

    def __init__(self, uri: str = "", artifact_store: Any = None) -> None:
        # ZenML-style materializers (save(data) / load(data_type)) read and write in self.uri,
        # a directory; mlx-style ones get the path as an argument instead.
        self.uri = uri
        self._artifact_store = artifact_store

    @property
    def artifact_store(self) -> Any:
        """ZenML's ``self.artifact_store`` (``open``, ``exists``, ``makedirs``, ``copyfile``, ...)
        for ZenML-style materializers: the local filesystem, where ``self.uri`` is."""
        if self._artifact_store is None:
            from engine.fileio import LOCAL_ARTIFACT_STORE

            self._artifact_store = LOCAL_ARTIFACT_STORE
        return self._artifact_store

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # ZenML registers a materializer when its class is defined; ported ZenML-style
        # materializers keep that behaviour (mlx-style ones are registered explicitly).
        if is_zenml_style(cls) and not inspect.isabstract(cls) and cls.ASSOCIATED_TYPES:
            register(cls)

    @classmethod
    def is_model(cls) -> bool:
        """True when values it stores are model artifacts."""
        kind = getattr(cls.ASSOCIATED_ARTIFACT_TYPE, "value", cls.ASSOCIATED_ARTIFACT_TYPE)
        return cls.ARTIFACT_TYPE == "model" or kind == "ModelArtifact"

    @abstractmethod
    def save(self, data: Any, path: Path) -> None:
        """Write ``data`` as one file at ``path`` or as a directory at ``path``.

        ``path`` does not exist yet; its parent does.
        """

    @abstractmethod
    def load(self, data_type: type, path: Path) -> Any:
        """Read back what :meth:`save` wrote at ``path`` as an instance of ``data_type``.

        A single file may be read-only (it is the DVC cache object): never write to it.
        """

    def extract_metadata(self, data: Any) -> dict[str, Any]:
        """Return cheap, JSON-serializable facts about ``data`` (shape, length, columns, ...)."""
        return {}


def is_zenml_style(cls: type) -> bool:
    """True for ZenML's materializer shape: ``save(self, data)`` and ``load(self, data_type)``."""
    try:
        params = inspect.signature(cls.save).parameters  # type: ignore[attr-defined]
    except (TypeError, ValueError, AttributeError):
        return False
    return len(params) == 2  # self, data


_by_type: dict[type, type[BaseMaterializer]] = {}
_by_name: dict[str, type[BaseMaterializer]] = {}
_predicates: list[tuple[Callable[[type], bool], type[BaseMaterializer]]] = []
_fallback: list[Callable[[type], type[BaseMaterializer]]] = []


def type_name(tp: type) -> str:
    """Return the dotted name of a type, ``"module.QualName"`` (``"builtins.int"``)."""
    return f"{tp.__module__}.{tp.__qualname__}"


def materializer_name(cls: type[BaseMaterializer]) -> str:
    """Return the dotted name recorded for a materializer class."""
    return type_name(cls)


def register(materializer: type[BaseMaterializer], types: Iterable[type | str] = ()) -> None:
    """Make ``materializer`` the one used for ``types`` and their subclasses.

    Args:
        materializer: a concrete :class:`BaseMaterializer` subclass.
        types: types or dotted type names; defaults to the materializer's ``ASSOCIATED_TYPES``
            and ``ASSOCIATED_TYPE_NAMES``.

    Later registrations of the same type win.

    Raises:
        ValidationError: ``materializer`` is not a concrete materializer or has no types.
    """
    _check_materializer(materializer)
    targets = list(types) or [*materializer.ASSOCIATED_TYPES, *materializer.ASSOCIATED_TYPE_NAMES]
    if not targets:
        raise ValidationError(
            f"{materializer_name(materializer)} has no ASSOCIATED_TYPES or ASSOCIATED_TYPE_NAMES;"
            " set one of them or pass types=[...] to register()"
        )
    for target in targets:
        if isinstance(target, str):
            if "." not in target:
                raise ValidationError(
                    f"type name {target!r} is not qualified; write it as 'module.QualName'"
                )
            _by_name[target] = materializer
            for tp in [tp for tp in _by_type if type_name(tp) == target]:
                del _by_type[tp]
        elif isinstance(target, type):
            _by_type[target] = materializer
            _by_name.pop(type_name(target), None)
        else:
            raise ValidationError(f"register() takes types or dotted type names, got {target!r}")


def register_predicate(
    predicate: Callable[[type], bool], materializer: type[BaseMaterializer]
) -> None:
    """Use ``materializer`` for types no registered type matches but ``predicate`` accepts.

    For families of types without a common base class, such as dataclasses. Consulted after the
    MRO lookup, later registrations first.
    """
    _check_materializer(materializer)
    _predicates.append((predicate, materializer))


def register_fallback(choose: Callable[[type], type[BaseMaterializer]]) -> None:
    """Use ``choose(data_type)`` for types that nothing else claims (the last one wins).

    The package registers the pickle fallback this way, so this module, which the pickle
    materializer builds on, never imports it.
    """
    _fallback.append(choose)


def materializer_for(data_type: type) -> type[BaseMaterializer]:
    """Return the materializer for ``data_type``.

    Walks the MRO, matching registered types and dotted names; then the predicates; then the
    registered fallback (pickle, which warns once per type).

    Raises:
        MaterializerError: nothing matches and no fallback is registered.
    """
    for cls in inspect.getmro(data_type):
        found = _by_type.get(cls) or _by_name.get(type_name(cls))
        if found is not None:
            return found
    for predicate, materializer in reversed(_predicates):
        if predicate(data_type):
            return materializer
    if not _fallback:
        raise MaterializerError(
            f"no materializer is registered for {type_name(data_type)}; "
            "register one with engine.materializers.register()"
        )
    return _fallback[-1](data_type)


def known_materializers() -> dict[str, type[BaseMaterializer]]:
    """Every materializer this process knows, by recorded name: registered or defined.

    Registered ones (types, names, predicates) and every concrete subclass of
    :class:`BaseMaterializer` whose module is imported (an output's own materializer, defined
    in the pipeline module). Records are resolved against this table only.
    """
    known: dict[str, type[BaseMaterializer]] = {}
    pending: list[type[BaseMaterializer]] = list(BaseMaterializer.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if not inspect.isabstract(cls):
            known[materializer_name(cls)] = cls
    for cls in [*_by_type.values(), *_by_name.values(), *(m for _, m in _predicates)]:
        known[materializer_name(cls)] = cls
    return known


def resolve_materializer(name: str) -> type[BaseMaterializer]:
    """The materializer class recorded as ``name``, from the registry (never imported by name).

    A record is data from the wire: its strings name materializers this process already knows
    (:func:`known_materializers`) and nothing else, so a record cannot make mlx import a module.

    Raises:
        MaterializerError: no known materializer has that name.
    """
    known = known_materializers()
    if name in known:
        return known[name]
    raise MaterializerError(
        f"materializer {name!r} is not registered in this process{did_you_mean(name, known)}; "
        "import the module that defines it (e.g. your pipeline module) or register() it first"
    )


def resolve_type(name: str) -> type:
    """The type recorded as ``name``, without importing modules a record chooses.

    Resolves builtins, types of modules already imported (the pipeline module that produced
    the value, usually), and types of the packages registered materializers name (numpy,
    pandas, pydantic, scikit-learn), which may be imported for that.

    Raises:
        MaterializerError: the name cannot be resolved that way or is not a type.
    """
    module = name.rpartition(".")[0]
    top = name.partition(".")[0]
    loaded = module in sys.modules or top == "builtins"
    allowed = loaded or top in {n.partition(".")[0] for n in _by_name}
    if not allowed:
        raise MaterializerError(
            f"type {name!r} is not loaded in this process and no registered materializer names "
            f"its package; import {module or name!r} first (mlx never imports modules a record "
            "names)"
        )
    try:
        obj = _import_qualified(name)
    except Exception as exc:
        raise MaterializerError(f"cannot resolve type {name!r}: {exc}") from exc
    if not isinstance(obj, type):
        raise MaterializerError(f"{name!r} is not a type")
    return obj


def loads_code(name: str) -> bool:
    """Whether loading with the materializer recorded as ``name`` can run code (pickle).

    Unknown names count as unsafe: callers that only want a preview skip them.
    """
    cls = known_materializers().get(name)
    return cls is None or cls.LOADS_CODE


def save_value(
    data: Any, path: Path, materializer: type[BaseMaterializer] | None = None
) -> tuple[type[BaseMaterializer], dict[str, Any]]:
    """Write ``data`` at ``path`` (which must not exist) and return the materializer and metadata.

    The materializer writes into a temporary sibling of ``path`` that is moved into place only
    once the save and the metadata extraction have both succeeded.

    Raises:
        MaterializerError: anything went wrong; the message names the type and the materializer.
    """
    path = Path(path)
    cls = materializer if materializer is not None else materializer_for(type(data))
    try:
        return _save_with(cls, data, path)
    except MaterializerError:
        # a safe format that cannot hold this particular value (a scikit-learn pipeline with
        # user-defined transformers for skops) gives way to the fallback, which warns
        if materializer is not None or not cls.FALLBACK_ON_FAILURE or not _fallback:
            raise
        return _save_with(_fallback[-1](type(data)), data, path)


def _save_with(
    cls: type[BaseMaterializer], data: Any, path: Path
) -> tuple[type[BaseMaterializer], dict[str, Any]]:
    what = f"{type_name(type(data))} with {materializer_name(cls)}"
    if path.exists() or path.is_symlink():
        raise MaterializerError(f"cannot save {what}: {path} already exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        target = staging / path.name
        instance = cls()
        if is_zenml_style(cls):
            target.mkdir()
            instance.uri = str(target)
            instance.save(data)  # type: ignore[call-arg]
        else:
            instance.save(data, target)
        if not target.exists():
            raise MaterializerError(f"save() wrote nothing at the path it was given ({target})")
        metadata = instance.extract_metadata(data)
        json.dumps(metadata, allow_nan=False)  # fail here, not later in the store
        os.replace(target, path)
    except Exception as exc:
        raise MaterializerError(f"could not save {what}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return cls, metadata


def load_value(
    path: Path, materializer: str | type[BaseMaterializer], data_type: str | type
) -> Any:
    """Load the value stored at ``path`` by ``materializer`` as ``data_type``.

    Both may be given as dotted names (as recorded in an artifact-version record).

    Raises:
        MaterializerError: a name cannot be resolved or the load failed; the message names
            the type, the path and the materializer.
    """
    cls = resolve_materializer(materializer) if isinstance(materializer, str) else materializer
    tp = resolve_type(data_type) if isinstance(data_type, str) else data_type
    try:
        if is_zenml_style(cls):
            return cls(uri=str(path)).load(tp)  # type: ignore[call-arg]
        return cls().load(tp, Path(path))
    except Exception as exc:
        raise MaterializerError(
            f"could not load {type_name(tp)} from {path} with {materializer_name(cls)}: {exc}"
        ) from exc


def _check_materializer(materializer: object) -> None:
    if not (isinstance(materializer, type) and issubclass(materializer, BaseMaterializer)):
        raise ValidationError(f"expected a BaseMaterializer subclass, got {materializer!r}")
    if inspect.isabstract(materializer):
        raise ValidationError(
            f"{materializer_name(materializer)} is abstract; implement save() and load()"
        )


def _import_qualified(name: str) -> Any:
    """Import ``"package.module.Outer.Inner"``, trying the longest importable module prefix."""
    if name == "builtins.NoneType":  # NoneType is not reachable as an attribute of builtins
        return type(None)
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            obj: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # Only "this prefix is not a module" means try a shorter one; a module that exists
            # but fails to import (a missing dependency) is a real error.
            if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                continue
            raise
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return obj
    raise LookupError(f"no importable module in {name!r}; expected 'module.QualName'")
