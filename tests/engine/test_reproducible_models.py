"""A scikit-learn model saved twice, in two processes, gives the same bytes (so the same md5
and the same cache keys downstream), and still loads back as the model it was."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from engine.materializers import SklearnMaterializer, load_value, save_value

SAVE = """
import sys
from pathlib import Path

from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from engine.materializers import save_value

X, y = load_iris(return_X_y=True)
models = {
    "logistic": LogisticRegression(max_iter=500),
    "pipeline": make_pipeline(StandardScaler(), LogisticRegression()),
    "forest": RandomForestClassifier(n_estimators=3, random_state=0),
}
model = models[sys.argv[2]].fit(X, y)
junk = [object() for _ in range(int(sys.argv[3]))]  # other object ids than the first process
save_value(model, Path(sys.argv[1]))
"""


def _save_in_process(path: Path, kind: str, junk: int) -> bytes:
    subprocess.run([sys.executable, "-c", SAVE, str(path), kind, str(junk)], check=True)
    return path.read_bytes()


@pytest.mark.parametrize("kind", ["logistic", "pipeline", "forest"])
def test_the_same_model_saved_in_two_processes_has_the_same_bytes(
    tmp_path: Path, kind: str
) -> None:
    first = _save_in_process(tmp_path / "first", kind, 0)
    second = _save_in_process(tmp_path / "second", kind, 1000)

    assert hashlib.md5(first).hexdigest() == hashlib.md5(second).hexdigest()
    with zipfile.ZipFile(tmp_path / "first") as archive:
        infos = archive.infolist()
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    arrays = sorted(info.filename for info in infos if info.filename.endswith(".npy"))
    assert arrays and all(len(name) <= len("999.npy") for name in arrays)  # not object ids


def test_a_renumbered_model_loads_back_and_predicts_the_same(tmp_path: Path) -> None:
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_iris(return_X_y=True)
    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    cls, _ = save_value(model, tmp_path / "model")
    assert cls is SklearnMaterializer

    loaded = load_value(tmp_path / "model", SklearnMaterializer, RandomForestClassifier)

    assert (loaded.predict(X) == model.predict(X)).all()
    assert [e.tree_.node_count for e in loaded.estimators_] == [
        e.tree_.node_count for e in model.estimators_
    ]
