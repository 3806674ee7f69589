"""Contract tests for every built-in materializer, plus the registry and the error wrapping."""

from __future__ import annotations

import collections
import enum
import hashlib
import json
import math
import os
import stat
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel
from sklearn.linear_model import LogisticRegression

from engine.materializers import (
    BaseMaterializer,
    BytesMaterializer,
    DataclassMaterializer,
    DataFrameMaterializer,
    JsonMaterializer,
    ModelPickleMaterializer,
    NumpyMaterializer,
    PathMaterializer,
    PickleFallbackWarning,
    PickleMaterializer,
    PydanticMaterializer,
    SeriesMaterializer,
    SklearnMaterializer,
    load_value,
    materializer_for,
    materializer_name,
    register,
    resolve_materializer,
    resolve_type,
    save_value,
    type_name,
)
from engine.materializers.sklearn import trusted_types
from store.errors import MaterializerError, ValidationError

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Point:
    x: float
    y: float


@dataclass
class Segment:
    start: Point
    end: Point
    label: str = ""
    waypoints: tuple[Point, ...] = ()
    extra: Point | None = None
    scores: dict[str, float] = field(default_factory=dict)


class Config(BaseModel):
    name: str
    lr: float
    layers: list[int]


class Pair(NamedTuple):
    left: int
    right: tuple[int, int]


class Color(enum.IntEnum):
    RED = 1
    GREEN = 2


class Opaque:
    """Only the pickle-warning test uses this type, so its warning has not fired yet."""


def _nan_aware_equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, list | tuple):
        same = type(a) is type(b) and len(a) == len(b)
        return same and all(_nan_aware_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        same = type(a) is type(b) and list(a) == list(b)
        return same and all(_nan_aware_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _same_tree(source: Path, loaded: Path) -> bool:
    if source.is_file():
        return loaded.is_file() and loaded.read_bytes() == source.read_bytes()
    files = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
    copies = sorted(p.relative_to(loaded) for p in loaded.rglob("*") if p.is_file())
    return files == copies and all(
        (loaded / f).read_bytes() == (source / f).read_bytes() for f in files
    )


def _fitted_model() -> LogisticRegression:
    return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])


def _make_file(tmp: Path) -> Path:
    path = tmp / "weights.bin"
    path.write_bytes(b"\x00\x01 weights")
    return path


def _make_dir(tmp: Path) -> Path:
    (tmp / "report" / "plots").mkdir(parents=True)
    (tmp / "report" / "index.html").write_text("<h1>hi</h1>")
    (tmp / "report" / "plots" / "a.svg").write_text("<svg/>")
    return tmp / "report"


Case = tuple[Callable[[Path], Any], type[BaseMaterializer], Callable[[Any, Any], bool]]

CASES: dict[str, Case] = {
    "none": (lambda _: None, JsonMaterializer, _nan_aware_equal),
    "bool": (lambda _: True, JsonMaterializer, _nan_aware_equal),
    "int": (lambda _: 2**70, JsonMaterializer, _nan_aware_equal),
    "float": (lambda _: 0.1, JsonMaterializer, _nan_aware_equal),
    "float-nan": (lambda _: math.nan, JsonMaterializer, _nan_aware_equal),
    "float-inf": (lambda _: -math.inf, JsonMaterializer, _nan_aware_equal),
    "str": (lambda _: "héllo ✓\n", JsonMaterializer, _nan_aware_equal),
    "list": (
        lambda _: [1, [2.5, None], {"a": (3, 4)}, math.inf],
        JsonMaterializer,
        _nan_aware_equal,
    ),
    "tuple-nested": (lambda _: (1, (2, (3,)), [4, (5, ())]), JsonMaterializer, _nan_aware_equal),
    "dict": (lambda _: {"b": [1, 2], "a": {"x": True}}, JsonMaterializer, _nan_aware_equal),
    "dict-tag-like-key": (lambda _: {"$tuple": [1, 2]}, JsonMaterializer, _nan_aware_equal),
    "dict-non-str-keys": (
        lambda _: {1: "one", (2, "b"): [3], None: {"x": 1.5}, 2.5: False},
        JsonMaterializer,
        _nan_aware_equal,
    ),
    "empty": (lambda _: ([], {}, (), ""), JsonMaterializer, _nan_aware_equal),
    "bytes": (lambda _: b"\x00\xffraw", BytesMaterializer, lambda a, b: a == b),
    "bytearray": (lambda _: bytearray(b"\x01\x02"), BytesMaterializer, lambda a, b: a == b),
    "pydantic": (
        lambda _: Config(name="m", lr=0.01, layers=[8, 4]),
        PydanticMaterializer,
        lambda a, b: a == b and type(b) is Config,
    ),
    "dataclass-nested": (
        lambda _: Segment(
            Point(0.0, 1.0),
            Point(2.0, math.inf),
            "s",
            (Point(1.0, 1.0),),
            Point(9.0, 9.0),
            {"a": 0.5},
        ),
        DataclassMaterializer,
        lambda a, b: a == b and type(b.waypoints[0]) is Point and type(b.extra) is Point,
    ),
    "path-file": (_make_file, PathMaterializer, _same_tree),
    "path-dir": (_make_dir, PathMaterializer, _same_tree),
    "numpy-float": (
        lambda _: np.arange(12, dtype=np.float64).reshape(3, 4),
        NumpyMaterializer,
        lambda a, b: b.dtype == a.dtype and np.array_equal(a, b),
    ),
    "numpy-str": (
        lambda _: np.array(["a", "bc"]),
        NumpyMaterializer,
        lambda a, b: b.dtype == a.dtype and np.array_equal(a, b),
    ),
    "numpy-scalar": (
        lambda _: np.int64(7),
        NumpyMaterializer,
        lambda a, b: type(b) is np.int64 and a == b,
    ),
    "numpy-float-scalar": (
        lambda _: np.float32(0.5),
        NumpyMaterializer,
        lambda a, b: type(b) is np.float32 and a == b,
    ),
    "dataframe": (
        lambda _: pd.DataFrame(
            {"x": [1, 2, 3], "y": [0.5, None, 2.0], "label": pd.Categorical(["a", "b", "a"])},
            index=pd.Index([10, 20, 30], name="id"),
        ),
        DataFrameMaterializer,
        lambda a, b: pd.testing.assert_frame_equal(a, b) is None,
    ),
    "series-named": (
        lambda _: pd.Series([1.0, 2.0], index=["a", "b"], name="target"),
        SeriesMaterializer,
        lambda a, b: pd.testing.assert_series_equal(a, b) is None,
    ),
    "series-unnamed": (
        lambda _: pd.Series([3, 4]),
        SeriesMaterializer,
        lambda a, b: pd.testing.assert_series_equal(a, b) is None and b.name is None,
    ),
    "pickle": (
        lambda _: {"set": {1, 2}, "frozen": frozenset("ab")},
        PickleMaterializer,
        lambda a, b: a == b,
    ),
    "sklearn": (
        lambda _: _fitted_model(),
        SklearnMaterializer,
        lambda a, b: list(b.predict([[0.0], [3.0]])) == list(a.predict([[0.0], [3.0]])),
    ),
}


def _freeze(path: Path) -> dict[Path, str]:
    """Make the artifact read-only like the DVC cache, return a digest of every file."""
    paths = [path, *path.rglob("*")] if path.is_dir() else [path]
    for item in paths:
        os.chmod(item, 0o555 if item.is_dir() else 0o444)
    return {p: hashlib.md5(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def _thaw(path: Path) -> None:
    paths = [path, *path.rglob("*")] if path.is_dir() else [path]
    for item in paths:
        os.chmod(item, item.stat().st_mode | stat.S_IWUSR)


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_builtin_round_trips_through_a_read_only_artifact(case: str, tmp_path: Path) -> None:
    make, materializer, equal = CASES[case]
    value = make(tmp_path)
    artifact = tmp_path / "artifact"

    cls, metadata = save_value(value, artifact, materializer)
    digests = _freeze(artifact)  # as root, chmod does not stop writes: compare bytes too
    try:
        loaded = load_value(artifact, materializer_name(cls), type_name(type(value)))
        assert digests == _freeze(artifact)
    finally:
        _thaw(artifact)

    assert cls is materializer
    assert equal(value, loaded)
    json.dumps(metadata, allow_nan=False)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.filterwarnings("ignore::engine.materializers.PickleFallbackWarning")
@pytest.mark.parametrize("case", [c for c in CASES if c != "pickle"])  # a dict: JSON's by default
def test_builtins_are_chosen_by_type(case: str, tmp_path: Path) -> None:
    make, materializer, _ = CASES[case]
    assert materializer_for(type(make(tmp_path))) is materializer


def test_metadata_describes_the_value(tmp_path: Path) -> None:
    def metadata(value: Any) -> dict[str, Any]:
        path = tmp_path / f"a{len(list(tmp_path.iterdir()))}"
        return save_value(value, path)[1]

    assert metadata(np.zeros((3, 4))) == {"shape": [3, 4], "dtype": "float64"}
    frame = metadata(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    assert (frame["rows"], frame["columns"], frame["dtypes"]["a"]) == (2, ["a", "b"], "int64")
    assert metadata([1, 2, 3]) == {"length": 3}
    assert metadata(0.25) == {"value": 0.25}
    assert metadata(math.nan) == {"value": "nan"}


def test_json_file_stays_plain_json_for_plain_values(tmp_path: Path) -> None:
    save_value({"a": [1, "x", None]}, tmp_path / "v")
    assert json.loads((tmp_path / "v").read_text()) == {"a": [1, "x", None]}


def test_json_subclasses_load_as_their_own_type(tmp_path: Path) -> None:
    values = [
        collections.OrderedDict(b=1, a=2),
        collections.Counter("abca"),
        Pair(1, (2, 3)),
        Color.GREEN,
        np.float64(0.5),  # a float subclass that numpy's own materializer claims first
    ]
    for i, value in enumerate(values):
        cls, _ = save_value(value, tmp_path / str(i))
        loaded = load_value(tmp_path / str(i), cls, type(value))
        assert type(loaded) is type(value) and loaded == value
    assert materializer_for(collections.OrderedDict) is JsonMaterializer
    assert materializer_for(np.float64) is NumpyMaterializer


def test_json_subclass_that_cannot_be_rebuilt_fails_at_save(tmp_path: Path) -> None:
    with pytest.raises(MaterializerError, match=r"collections\.defaultdict cannot be rebuilt"):
        save_value(collections.defaultdict(list, a=[1]), tmp_path / "v")
    assert list(tmp_path.iterdir()) == []


def test_json_refuses_values_it_cannot_represent(tmp_path: Path) -> None:
    with pytest.raises(MaterializerError, match=r"builtins\.object value cannot be stored as JSON"):
        save_value([1, object()], tmp_path / "v")


def test_path_load_returns_a_writable_copy_outside_the_artifact(tmp_path: Path) -> None:
    source = _make_file(tmp_path)
    save_value(source, tmp_path / "artifact")
    _freeze(tmp_path / "artifact")
    try:
        loaded = load_value(tmp_path / "artifact", PathMaterializer, Path)
    finally:
        _thaw(tmp_path / "artifact")
    assert loaded.name == "weights.bin"
    assert tmp_path not in loaded.parents
    assert os.stat(loaded).st_mode & stat.S_IWUSR
    loaded.write_bytes(b"changed")
    assert (tmp_path / "artifact" / "weights.bin").read_bytes() == b"\x00\x01 weights"


def test_numpy_object_array_is_refused_with_a_pointer_to_pickle(tmp_path: Path) -> None:
    with pytest.raises(MaterializerError, match=r"numpy\.ndarray .*PickleMaterializer"):
        save_value(np.array([{"a": 1}, None], dtype=object), tmp_path / "v")
    cls, _ = save_value(np.array([{"a": 1}], dtype=object), tmp_path / "p", PickleMaterializer)
    assert load_value(tmp_path / "p", cls, np.ndarray)[0] == {"a": 1}


def test_numpy_masked_array_is_refused_rather_than_losing_its_mask(tmp_path: Path) -> None:
    with pytest.raises(MaterializerError, match="lose their mask"):
        save_value(np.ma.masked_array([1, 2], mask=[False, True]), tmp_path / "v")


def test_dataframe_with_non_string_columns_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(MaterializerError, match=r"string column names.*astype\(str\)"):
        save_value(pd.DataFrame({0: [1]}), tmp_path / "v")


def test_pickle_fallback_warns_once_per_type() -> None:
    with pytest.warns(PickleFallbackWarning, match=r"Opaque.*register\(") as record:
        assert materializer_for(Opaque) is PickleMaterializer
        assert materializer_for(Opaque) is PickleMaterializer
    assert len([w for w in record if w.category is PickleFallbackWarning]) == 1


class Threshold:
    """An estimator-like object no materializer knows (fit and predict)."""

    def fit(self, rows: list[list[float]], labels: list[int]) -> Threshold:
        self.cut = sum(r[0] for r in rows) / len(rows)
        return self

    def predict(self, rows: list[list[float]]) -> list[int]:
        return [int(r[0] > self.cut) for r in rows]


def test_pickle_fallback_round_trips_an_estimator_as_a_model(tmp_path: Path) -> None:
    model = Threshold().fit([[0.0], [3.0]], [0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PickleFallbackWarning)
        cls, metadata = save_value(model, tmp_path / "model")
    loaded = load_value(tmp_path / "model", materializer_name(cls), type_name(Threshold))
    assert cls is ModelPickleMaterializer and cls.ARTIFACT_TYPE == "model" and cls.LOADS_CODE
    assert metadata["python"] == ".".join(map(str, sys.version_info[:3]))
    assert loaded.predict([[0.0], [3.0]]) == [0, 1]
    assert PickleMaterializer.ARTIFACT_TYPE == "data"


def test_sklearn_estimators_are_stored_with_skops_not_pickle(tmp_path: Path) -> None:
    cls, metadata = save_value(_fitted_model(), tmp_path / "model")
    assert cls is SklearnMaterializer and not cls.LOADS_CODE and cls.ARTIFACT_TYPE == "model"
    assert metadata["estimator"].endswith("LogisticRegression")
    assert (tmp_path / "model").read_bytes()[:2] == b"PK"  # a skops zip, not a pickle stream
    with pytest.raises(TypeError, match="does not trust: builtins.eval"):
        trusted_types(["sklearn.tree._tree.Tree", "builtins.eval"])


class Celsius:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


class Kelvin(Celsius):
    pass


class CelsiusMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES = (Celsius,)

    def save(self, data: Any, path: Path) -> None:
        path.write_text(f"{data.degrees}C")

    def load(self, data_type: type, path: Path) -> Any:
        return data_type(float(path.read_text().removesuffix("C")))


class OtherCelsiusMaterializer(CelsiusMaterializer):
    pass


class LinesMaterializer(BaseMaterializer):
    def save(self, data: Any, path: Path) -> None:
        path.write_text("\n".join(data))

    def load(self, data_type: type, path: Path) -> Any:
        return path.read_text().split("\n")


class BrokenMaterializer(BaseMaterializer):
    def save(self, data: Any, path: Path) -> None:
        path.write_text("partial")
        raise ValueError("disk on fire")

    def load(self, data_type: type, path: Path) -> Any:
        raise ValueError("cannot read")


def test_registered_custom_materializer_serves_the_type_and_its_subclasses(tmp_path: Path) -> None:
    register(CelsiusMaterializer)
    assert materializer_for(Kelvin) is CelsiusMaterializer
    cls, _ = save_value(Kelvin(3.5), tmp_path / "t")
    loaded = load_value(tmp_path / "t", materializer_name(cls), type_name(Kelvin))
    assert type(loaded) is Kelvin and loaded.degrees == 3.5


def test_later_registration_wins_by_type_or_by_name() -> None:
    register(CelsiusMaterializer)
    register(OtherCelsiusMaterializer, [Celsius])
    assert materializer_for(Celsius) is OtherCelsiusMaterializer
    register(CelsiusMaterializer, [type_name(Celsius)])
    assert materializer_for(Kelvin) is CelsiusMaterializer


def test_materializer_attached_to_one_output_overrides_the_registry(tmp_path: Path) -> None:
    cls, _ = save_value(["a", "b"], tmp_path / "lines", LinesMaterializer)
    assert (tmp_path / "lines").read_text() == "a\nb"
    assert load_value(tmp_path / "lines", cls, list) == ["a", "b"]
    assert materializer_for(list) is JsonMaterializer


def test_failing_materializer_raises_materializer_error_naming_type_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    with pytest.raises(MaterializerError, match=r"builtins\.list with .*BrokenMaterializer.*fire"):
        save_value([1], tmp_path / "v", BrokenMaterializer)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "v").write_text("x")
    with pytest.raises(
        MaterializerError, match=r"could not load builtins\.list .*cannot read"
    ) as e:
        load_value(tmp_path / "v", BrokenMaterializer, list)
    assert isinstance(e.value.__cause__, ValueError)


def test_save_refuses_an_existing_path(tmp_path: Path) -> None:
    (tmp_path / "v").write_text("old")
    with pytest.raises(MaterializerError, match="already exists"):
        save_value(1, tmp_path / "v")
    assert (tmp_path / "v").read_text() == "old"


def test_load_of_a_missing_artifact_is_a_materializer_error(tmp_path: Path) -> None:
    with pytest.raises(MaterializerError, match=r"could not load builtins\.int from .*missing"):
        load_value(tmp_path / "missing", JsonMaterializer, int)


def test_register_rejects_what_is_not_a_usable_materializer() -> None:
    with pytest.raises(ValidationError, match="expected a BaseMaterializer subclass"):
        register(dict, [dict])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"has no ASSOCIATED_TYPES.*types=\[\.\.\.\]"):
        register(LinesMaterializer)
    with pytest.raises(ValidationError, match=r"is abstract; implement save\(\) and load\(\)"):
        register(BaseMaterializer, [Celsius])  # type: ignore[type-abstract]
    with pytest.raises(ValidationError, match="'module.QualName'"):
        register(LinesMaterializer, ["ndarray"])


def test_names_resolve_back_to_types_and_materializers() -> None:
    assert resolve_type("builtins.NoneType") is type(None)
    assert resolve_type(type_name(Segment)) is Segment
    assert resolve_type("pandas.DataFrame") is pd.DataFrame
    assert resolve_materializer(materializer_name(NumpyMaterializer)) is NumpyMaterializer
    with pytest.raises(MaterializerError, match=r"not registered in this process.*did you mean"):
        resolve_materializer("engine.materializers.numeric.NumpyMaterialiser")
    with pytest.raises(MaterializerError, match="is not registered"):
        resolve_materializer("builtins.int")
    with pytest.raises(MaterializerError, match=r"type 'nosuchpkg\.Thing' is not loaded"):
        resolve_type("nosuchpkg.Thing")


def test_record_strings_never_import_a_module() -> None:
    code = (
        "import sys, engine.materializers as m\n"
        "for call, name in ((m.resolve_type, 'this.Nope'), (m.resolve_materializer, 'this.X'),"
        " (m.resolve_type, 'antigravity.Fly')):\n"
        "    try: call(name)\n"
        "    except Exception: pass\n"
        "assert 'this' not in sys.modules and 'antigravity' not in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0 and "Zen of Python" not in result.stdout, result.stderr


def test_importing_materializers_does_not_import_numpy_or_pandas() -> None:
    code = (
        "import engine.materializers, sys;"
        " assert 'numpy' not in sys.modules and 'pandas' not in sys.modules, 'heavy import'"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
