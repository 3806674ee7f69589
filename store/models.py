"""Model configuration files: ``models/<name>.toml`` on the user's branch.

A model's description, tags, promotion gates and stage map live in a small TOML file that is
reviewed like code; a promotion is a one-line change of its ``[stages]`` table (see
:mod:`store.promotion`). Gates are condition strings (``">= 0.9"``) parsed when the file is
loaded, so a typo fails at load time with ``file:line`` and not in the middle of a CI check.
``latest`` is not a stage in the file: it is the newest version on the runs ref and callers
resolve it with ``Index.model_versions``. Stage names are ``production``, ``staging``,
``archived`` and those declared in ``mlx.toml`` (``[models] stages``); anything else is refused
with a "did you mean". ``mlx model register`` creates the file (:func:`register_model`).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, field_validator

from store.config import load_toml_model, validate_toml_data
from store.config_text import parse_toml
from store.errors import MlxError, NotFoundError, ValidationError, did_you_mean
from store.paths import valid_name

if TYPE_CHECKING:
    from store.project import Project

__all__ = [
    "ARCHIVED",
    "BUILTIN_STAGES",
    "VIRTUAL_STAGES",
    "GateResult",
    "ModelConfig",
    "evaluate_gates",
    "load_model_config",
    "load_model_config_at",
    "lookup_metric",
    "metric_values",
    "model_config_names",
    "model_config_names_at",
    "model_config_repo_path",
    "allowed_stages",
    "check_stage",
    "failing_gates",
    "parse_condition",
    "parse_gate",
    "register_hint",
    "register_model",
    "resolve_stage",
]

VIRTUAL_STAGES = frozenset({"latest"})
ARCHIVED = "archived"  # where --force moves the previous holder of a stage
BUILTIN_STAGES = ("production", "staging", "archived")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_CONDITION_RE = re.compile(
    r"^\s*(>=|<=|==|!=|>|<)\s*([-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*$"
)


def parse_condition(condition: str) -> tuple[str, float]:
    """Split a gate condition such as ``">= 0.9"`` into ``(">=", 0.9)``.

    Raises:
        ValueError: the condition is not ``OP NUMBER`` with OP one of ``>= > <= < == !=``.
    """
    match = _CONDITION_RE.match(condition)
    if match is None:
        raise ValueError(
            f"invalid gate condition {condition!r}; write an operator and a number, "
            'e.g. ">= 0.9" (operators: >=, >, <=, <, ==, !=)'
        )
    return match.group(1), float(match.group(2).replace("_", ""))


def _check_condition(condition: str) -> str:
    parse_condition(condition)
    match = _CONDITION_RE.match(condition)
    assert match is not None
    return f"{match.group(1)} {match.group(2)}"  # normalised spacing, the number as written


Condition = Annotated[str, AfterValidator(_check_condition)]
StageVersion = Annotated[StrictInt, Field(gt=0)]


class ModelConfig(BaseModel):
    """``models/<name>.toml``: what a model is, the gates its versions must pass, the stages."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    description: str = Field(default="", description="One line about the model, shown in the TUI.")
    tags: list[str] = Field(default_factory=list, description="Free-form labels for filtering.")
    license: str = Field(default="", description="License of the model's weights, if any.")
    gates: dict[str, Condition] = Field(
        default_factory=dict,
        description=(
            'Promotion gates: metric name -> condition such as ">= 0.9". A version can only be '
            "promoted through a reviewed pull request when its metrics pass every gate."
        ),
    )
    stages: dict[str, StageVersion] = Field(
        default_factory=dict,
        description=(
            "Stage name -> model version number, e.g. production = 3. Stage names are free-form; "
            "staging, production and archived are the usual ones. 'latest' is implicit."
        ),
    )

    @field_validator("stages")
    @classmethod
    def _no_virtual_stage(cls, stages: dict[str, int]) -> dict[str, int]:
        for name in stages:
            if name in VIRTUAL_STAGES:
                raise ValueError(f"{name!r} is the newest version implicitly; it cannot be set")
            if not valid_name(name):
                raise ValueError(f"stage name {name!r} may only use letters, digits, '_', '.', '-'")
        return stages


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate checked against a version's metrics (``value`` is None when it is missing)."""

    metric: str
    condition: str
    value: float | None
    passed: bool

    def describe(self) -> str:
        shown = "missing" if self.value is None else f"{self.value:g}"
        return f"{self.metric} {self.condition} (got {shown})"


# -- loading ---------------------------------------------------------------------------------
def model_config_path(project: Project, name: str) -> Path:
    return project.models_dir / f"{name}.toml"


def model_config_names(project: Project) -> list[str]:
    """Names of the models that have a ``models/<name>.toml`` in the work tree."""
    return sorted(p.stem for p in project.models_dir.glob("*.toml") if p.is_file())


def load_model_config(project: Project, name: str) -> ModelConfig:
    """Read and validate ``models/<name>.toml`` from the work tree.

    Raises:
        NotFoundError: no such file (with "did you mean" over the existing model files).
        ConfigError: invalid TOML, unknown key, bad gate condition or stage (with file:line).
    """
    path = model_config_path(project, name)
    if not valid_name(name) or not path.is_file():
        raise NotFoundError("model", name, model_config_names(project), hint=register_hint(name))
    return load_toml_model(path, ModelConfig)


def register_hint(name: str) -> str:
    """What to do when ``models/<name>.toml`` is missing (every such message names it)."""
    return (
        f"(no models/{name}.toml; create it with `mlx model register {name}` "
        '[--gate "accuracy >= 0.9"], then commit it)'
    )


def model_config_repo_path(project: Project, name: str) -> str:
    """Path of ``models/<name>.toml`` relative to the git top level (for ``rev:path``)."""
    return project.repo_prefix + f"models/{name}.toml"


def model_config_names_at(project: Project, rev: str) -> list[str]:
    """Names of the models that have a ``models/<name>.toml`` in commit ``rev``."""
    prefix = project.repo_prefix + "models/"
    rows = project.git.ls_tree(rev, prefix)
    return sorted(
        path[len(prefix) : -5]
        for path, _ in rows
        if path.endswith(".toml") and "/" not in path[len(prefix) :]
    )


def load_model_config_at(project: Project, name: str, rev: str) -> ModelConfig | None:
    """Read ``models/<name>.toml`` as it is in commit ``rev``; ``None`` when absent there.

    Raises:
        ConfigError: the file exists at ``rev`` but is invalid (named ``rev:path``).
    """
    text = read_at(project, model_config_repo_path(project, name), rev)
    if text is None:
        return None
    return parse_model_config(text, f"{rev}:{model_config_repo_path(project, name)}")


def read_at(project: Project, repo_path: str, rev: str) -> str | None:
    """Text of ``repo_path`` in commit ``rev`` (``git show rev:path``); ``None`` when absent."""
    # not Git.rev_parse: its "^{object}" suffix would become part of the path
    sha = project.git.run("rev-parse", "--verify", "-q", f"{rev}:{repo_path}", check=False)
    if not sha.strip():
        return None
    sha = sha.strip()
    kind, data = project.git.read_object(sha)
    return data.decode("utf-8") if kind == "blob" else None


def parse_model_config(text: str, label: str) -> ModelConfig:
    """Validate model-config ``text``; errors name ``label`` (a path or ``rev:path``)."""
    return validate_toml_data(Path(label), text, parse_toml(text, label), ModelConfig)


# -- gates and stages ------------------------------------------------------------------------
def metric_values(metadata: Mapping[str, Any]) -> dict[str, float]:
    """The numeric metrics of a metadata dict, by the name a gate, the app and a PR body use.

    The one place that names a metric. Nested tables are flattened into dotted names
    (``{"eval": {"auc": 1}}`` -> ``eval.auc``), except a top-level ``metrics`` table, whose keys
    are names of their own (``log_metadata({"metrics": {"acc": 0.9}})`` -> ``acc``); a
    top-level key wins over the same name inside ``metrics``. Booleans count as 1/0; text,
    lists and NaN are not metrics.
    """
    out: dict[str, float] = {}
    nested = metadata.get("metrics")
    for key, value in metadata.items():
        if key == "metrics" and isinstance(nested, Mapping):
            continue
        _flatten_into(out, key, value)
    if isinstance(nested, Mapping):
        for name, number in metric_values(nested).items():
            out.setdefault(name, number)
    return out


def _flatten_into(out: dict[str, float], name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten_into(out, f"{name}.{key}", item)
    elif isinstance(value, int | float):  # bool is an int: True -> 1.0
        try:
            number = float(value)
        except OverflowError:  # an int beyond float range
            number = math.copysign(math.inf, value)
        if not math.isnan(number):
            out.setdefault(name, number)


def lookup_metric(metadata: Mapping[str, Any], name: str) -> float | None:
    """One metric of ``metadata`` by its :func:`metric_values` name (``None``: missing).

    ``metrics.<name>`` is accepted too, for a metric logged inside the ``metrics`` table.
    """
    return _named(metric_values(metadata), name)


def _named(values: Mapping[str, float], name: str) -> float | None:
    if name in values:
        return values[name]
    prefix = "metrics."
    return values.get(name[len(prefix) :]) if name.startswith(prefix) else None


def evaluate_gates(gates: Mapping[str, str], metrics: Mapping[str, Any]) -> list[GateResult]:
    """Check every gate against ``metrics`` (a model version's metadata), in gate order.

    A metric that is missing or not a number fails its gate.
    """
    values = metric_values(metrics)
    results = []
    for metric, condition in gates.items():
        op, threshold = parse_condition(condition)
        value = _named(values, metric)
        passed = value is not None and _OPS[op](value, threshold)
        results.append(GateResult(metric, condition, value, passed))
    return results


def resolve_stage(config: ModelConfig, stage: str) -> int | None:
    """The version number ``stage`` holds in ``config`` (``None`` when the stage is empty).

    ``latest`` is virtual and never resolved here; callers use ``Index.model_versions``.
    """
    return config.stages.get(stage)


def failing_gates(results: list[GateResult] | tuple[GateResult, ...]) -> list[GateResult]:
    """The gates of ``results`` that did not pass (missing metrics included)."""
    return [g for g in results if not g.passed]


def allowed_stages(project: Project) -> list[str]:
    """``production``, ``staging``, ``archived`` and the ``[models] stages`` of mlx.toml."""
    extra = getattr(project.config, "model_stages", ())
    return list(dict.fromkeys([*BUILTIN_STAGES, *extra]))


def check_stage(project: Project, stage: str) -> None:
    """Refuse a stage name that is neither built in nor declared in ``mlx.toml``.

    Raises:
        ValidationError: ``latest``, or an undeclared name (with "did you mean").
    """
    if stage in VIRTUAL_STAGES:
        raise ValidationError(f"{stage!r} is always the newest version; promote to another stage")
    allowed = allowed_stages(project)
    if stage not in allowed:
        raise ValidationError(
            f"unknown stage {stage!r}{did_you_mean(stage, allowed)}; stages are "
            f"{', '.join(allowed)}; declare more in {project.config_path.name} "
            '([models] stages = ["canary"])'
        )


def parse_gate(text: str) -> tuple[str, str]:
    """``"accuracy >= 0.9"`` -> ``("accuracy", ">= 0.9")``.

    Raises:
        ValidationError: not ``METRIC OP NUMBER``.
    """
    match = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(.+)$", text)
    if match is None:
        raise ValidationError(
            f"invalid gate {text!r}; write METRIC OP NUMBER, e.g. 'accuracy >= 0.9'"
        )
    try:
        return match.group(1), _check_condition(match.group(2))
    except ValueError as exc:
        raise ValidationError(f"invalid gate {text!r}: {exc}") from exc


def stage_slots(stages: list[str]) -> str:
    """A ``[stages]`` table with one line per stage, blank lines between, unset ones commented.

    Each promotion then edits only its own line, and two promotions of one model to different
    stages opened from the same base merge with plain ``git merge`` (git conflicts on adjacent
    changed lines, so the blank lines matter).
    """
    from store.stage_layout import SLOT_COMMENT, UNSET_SLOT

    slots = "\n\n".join(UNSET_SLOT.format(stage=stage) for stage in stages)
    return f"[stages]\n{SLOT_COMMENT}\n{slots}\n"


def register_model(
    project: Project,
    name: str,
    *,
    gates: Mapping[str, str] | None = None,
    description: str = "",
    tags: list[str] | None = None,
) -> Path:
    """Create ``models/<name>.toml`` (description, tags, gates, an empty ``[stages]``).

    The file is new, so mlx owns its layout (tomli-w); later promotions edit it with tomlkit.

    Raises:
        ValidationError: invalid name or gate condition.
        MlxError: the file exists already.
    """
    import tomli_w

    if not valid_name(name):
        raise ValidationError(f"model name {name!r} must use letters, digits, '_', '.', '-'")
    path = model_config_path(project, name)
    if path.exists():
        raise MlxError(f"{path} exists already; edit it by hand (gates live in [gates])")
    config = ModelConfig(
        description=description, tags=list(tags or []), gates=dict(gates or {})
    )  # validates the conditions
    data: dict[str, Any] = {"description": config.description}
    if config.tags:
        data["tags"] = config.tags
    data["gates"] = dict(config.gates)
    header = (
        f"# Model {name}: promotion gates and stages. Promotions change [stages]:\n"
        f"#   mlx model promote {name} N --to production\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.mlx-tmp")
    body = tomli_w.dumps(data) + "\n" + stage_slots(allowed_stages(project))
    tmp.write_text(header + body, encoding="utf-8")
    tmp.replace(path)
    return path
