"""Recorded runs for the TUI tests: fixed ids and times, real artifact bytes in the DVC cache.

Runs are committed with :func:`store.recorder.commit_run` (no engine involved): a completed
``train`` run, a failed one that took ``load_data`` from the cache, a second completed one
that made model version 2, and an ``etl`` run. Ids and times are fixed so snapshots are stable.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from store.project import Project
from store.recorder import commit_run
from store.records import ArtifactRef, ErrorInfo, ModelRef, RunRecord, StepRecord

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
JSON_MAT = "engine.materializers.builtin.JsonMaterializer"
RUN_A = "a1" + "0" * 30
RUN_B = "b2" + "0" * 30
RUN_C = "c3" + "0" * 30
RUN_E = "e4" + "0" * 30
RUN_F = "d6" + "0" * 30
LIVE = "f5" + "0" * 30

# A pipeline whose one step waits for its go-file: something to watch live, then release (the
# test writes the file) or cancel. Without ``go`` it waits until it is cancelled.
SLOW = """
import time
from pathlib import Path

from engine import pipeline, step


@step
def nap(go: str = "") -> int:
    print("waiting for", go or "cancellation", flush=True)
    while not (go and Path(go).exists()):
        time.sleep(0.02)
    return 1


@pipeline
def slow(go: str = "") -> None:
    nap(go=go)
"""
GATED = SLOW

MODEL_TOML = """# The iris model.
description = "iris classifier"

[gates]
accuracy = ">= 0.8"

[stages]
# One line per stage, blank lines between: promotions to different stages merge cleanly.
production = 1

# staging = (unset)

# archived = (unset)
"""  # the layout `mlx model register` writes: a promotion fills its stage's slot in place


class Recorder:
    """Builds runs with real artifact bytes in the DVC cache."""

    def __init__(self, project: Project, tmp: Path) -> None:
        self.project = project
        self.tmp = tmp
        self.counter = 0

    def pointer(self, content: str) -> dict[str, Any]:
        self.counter += 1
        path = self.tmp / f"blob-{self.counter}"
        path.write_text(content)
        return self.project.artifacts.save(path).model_dump()

    def artifact(
        self, name: str, run_id: str, step: str, value: Any, when: datetime
    ) -> dict[str, Any]:
        self.counter += 1
        return {
            "id": f"{name}-{run_id[:4]}-{self.counter:04d}", "name": name,
            "type": f"builtins.{type(value).__name__}", "materializer": JSON_MAT,
            "pointer": self.pointer(json.dumps(value)), "run_id": run_id, "step": step,
            "output": name, "created_at": when.isoformat(), "metadata": {},
        }  # fmt: skip

    def step(
        self, name: str, status: str, start: datetime, seconds: float, **kw: Any
    ) -> StepRecord:
        log = kw.pop("log", f"[{name}] starting\n[{name}] working hard\n[{name}] done\n")
        return StepRecord(
            name=name, status=status, started_at=start,  # type: ignore[arg-type]
            finished_at=start + timedelta(seconds=seconds),
            log=self.pointer(log) if log else None, **kw,
        )  # fmt: skip


def _ref(draft: dict[str, Any]) -> ArtifactRef:
    return ArtifactRef(id=draft["id"], name=draft["name"])


def record_train_run(
    rec: Recorder, run_id: str, start: datetime, *, lr: float, accuracy: float,
    fail: bool = False, cached_from: str | None = None, previous: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A 4-step ``train`` run: load_data -> split -> train -> evaluate (+ split -> evaluate)."""
    drafts: list[dict[str, Any]] = []
    t = start
    if cached_from and previous:
        raw = previous["run"].steps[0].outputs["raw"]
        load = rec.step("load_data", "cached", t, 0.0, outputs={"raw": raw}, log=None,
                        cached_from=cached_from)  # fmt: skip
    else:
        raw_d = rec.artifact("raw", run_id, "load_data", {"rows": 150, "cols": 4}, t)
        drafts.append(raw_d)
        raw = _ref(raw_d)
        load = rec.step("load_data", "completed", t, 1.5, outputs={"raw": raw})
    t += timedelta(seconds=2)
    split_d = rec.artifact("train_set", run_id, "split", [[5.1, 3.5], [4.9, 3.0]], t)
    drafts.append(split_d)
    split = rec.step(
        "split",
        "completed",
        t,
        0.8,
        upstream=["load_data"],
        inputs={"raw": raw},
        outputs={"train_set": _ref(split_d)},
        rerun_reasons=["parameter test_size changed"] if cached_from else [],
    )
    t += timedelta(seconds=1)
    steps = [load, split]
    model_version = None
    if fail:
        error = ErrorInfo(
            type="ValueError",
            message="learning rate too high",
            traceback='Traceback (most recent call last):\n  File "train.py", '
            "line 3, in train\nValueError: learning rate too high\n",
        )
        steps.append(
            rec.step(
                "train",
                "failed",
                t,
                0.3,
                upstream=["split"],
                error=error,
                inputs={"train_set": _ref(split_d)},
                parameters={"lr": lr},
            )
        )
        steps.append(StepRecord(name="evaluate", status="skipped", upstream=["train", "split"]))
    else:
        model_d = rec.artifact("model", run_id, "train", {"weights": [0.1, 0.2], "lr": lr}, t)
        model_d["is_model_artifact"] = True
        model_d["model"] = {"name": "iris", "version": None}
        drafts.append(model_d)
        steps.append(
            rec.step(
                "train",
                "completed",
                t,
                12.0,
                upstream=["split"],
                inputs={"train_set": _ref(split_d)},
                outputs={"model": _ref(model_d)},
                parameters={"lr": lr},
            )
        )
        t += timedelta(seconds=13)
        metrics_d = rec.artifact("metrics", run_id, "evaluate", {"accuracy": accuracy}, t)
        drafts.append(metrics_d)
        steps.append(
            rec.step(
                "evaluate",
                "completed",
                t,
                2.0,
                upstream=["train", "split"],
                inputs={"model": _ref(model_d), "test_set": _ref(split_d)},
                outputs={"metrics": _ref(metrics_d)},
                metadata={"accuracy": accuracy, "f1": round(accuracy - 0.03, 3)},
            )
        )
        model_version = {
            "id": f"iris-{run_id[:4]}", "name": "iris", "run_id": run_id, "pipeline": "train",
            "created_at": t.isoformat(), "metadata": {"accuracy": accuracy,
                                                     "f1": round(accuracy - 0.03, 3)},
        }  # fmt: skip
    run = RunRecord(
        id=run_id, pipeline="train", status="failed" if fail else "completed",
        started_at=start, finished_at=t + timedelta(seconds=2), parameters={"lr": lr, "epochs": 10},
        code={"commit": "abc1234def5678", "dirty": fail, "branch": "main"},  # type: ignore[arg-type]
        steps=steps, model=ModelRef(name="iris") if model_version else None,
        error=ErrorInfo(type="ValueError", message="step train failed") if fail else None,
    )  # fmt: skip
    committed = commit_run(rec.project.runs, run, drafts, model_version)
    return {"run": committed.run}


def populate(project: Project, tmp: Path) -> None:
    rec = Recorder(project, tmp)
    first = record_train_run(rec, RUN_A, NOW - timedelta(days=2), lr=0.01, accuracy=0.91)
    record_train_run(rec, RUN_B, NOW - timedelta(hours=5), lr=0.5, accuracy=0.0, fail=True,
                     cached_from=RUN_A, previous=first)  # fmt: skip
    record_train_run(rec, RUN_C, NOW - timedelta(hours=2), lr=0.02, accuracy=0.95)
    step = rec.step("extract", "completed", NOW - timedelta(minutes=30), 4.0)
    commit_run(project.runs, RunRecord(
        id=RUN_E, pipeline="etl", status="completed", started_at=NOW - timedelta(minutes=30),
        finished_at=NOW - timedelta(minutes=29), steps=[step], stack="prod",
    ), [])  # fmt: skip


def populate_long_names(project: Project, tmp: Path) -> None:
    """A run whose names are long (pipeline, stack, step, artifact): what wide layouts show."""
    rec = Recorder(project, tmp)
    start = NOW - timedelta(minutes=10)
    value = {"rows": 3, "labels": ["setosa", "versicolor", "virginica"]}
    draft = rec.artifact("predictions_from_context", RUN_F, "evaluate_and_log", value, start)
    step = rec.step("evaluate_and_log", "completed", start, 3.4,
                    outputs={"predictions_from_context": _ref(draft)})  # fmt: skip
    commit_run(project.runs, RunRecord(
        id=RUN_F, pipeline="feature_engineering_and_promotion", status="completed",
        started_at=start, finished_at=start + timedelta(seconds=4), steps=[step],
        stack="parallel_workers",
    ), [draft])  # fmt: skip
