"""``mlx port``: turn a ZenML project into an mlx project in place, as a reviewable git diff.

Pure source rewriting plus the project files, no Textual: every ``import``/``from ... import``
of ZenML's supported API, from whichever ZenML module path, becomes an import from
``engine``; ``mlx.toml``, ``stacks/local.toml`` and ``models/<name>.toml`` (one per model
named in code or YAML) are written when absent. YAML run configurations stay as they are
(``with_options(config_path=...)`` reads them). What cannot be ported (integrations, removed
APIs, experiment trackers, step operators) is listed as ``file:line`` with what to do.

Imports are found with :mod:`ast` and replaced by line span, so the rest of each file keeps
its exact bytes (comments, formatting). Running it twice changes nothing the second time.
"""

from __future__ import annotations

import ast
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.porting_files import python_files, write_project_files, yaml_files
from store.errors import MlxError

__all__ = ["Leftover", "PortReport", "SUPPORTED", "port_project", "rewrite_source"]

# ZenML name -> name in engine (same unless renamed). Module paths do not matter: ZenML
# re-exports most names from several modules, so any `zenml...` import of these is ported.
SUPPORTED: dict[str, str] = {
    name: name
    for name in (
        "step", "pipeline", "Model", "ModelStages", "Client", "get_step_context",
        "get_pipeline_context", "StepContext", "log_metadata", "save_artifact",
        "load_artifact", "ExternalArtifact", "ArtifactConfig", "ArtifactType", "CachePolicy",
        "BaseMaterializer", "get_logger", "BaseStep", "Pipeline", "PipelineRunFailedError",
        "HTMLString", "MarkdownString", "CSVString", "JSONString", "fileio", "DockerSettings",
        "ResourceSettings", "VisualizationType", "add_tags", "log_artifact_metadata",
        "log_model_metadata", "log_step_metadata", "StepRetryConfig", "UnmaterializedArtifact",
    )
}  # fmt: skip
SUPPORTED["ModelVersion"] = "Model"  # ZenML < 0.55
# ZenML's built-in materializers (``zenml.materializers...``) -> their mlx counterparts, for
# ``output_materializers=`` / ``materializer=`` (subclasses of them keep ZenML's methods)
MATERIALIZERS: dict[str, str] = {
    "BuiltInMaterializer": "JsonMaterializer", "BuiltInContainerMaterializer": "JsonMaterializer",
    "BytesMaterializer": "BytesMaterializer", "PydanticMaterializer": "PydanticMaterializer",
    "PathMaterializer": "PathMaterializer", "NumpyMaterializer": "NumpyMaterializer",
    "PandasMaterializer": "DataFrameMaterializer", "CloudpickleMaterializer": "PickleMaterializer",
}  # fmt: skip

# how to port what is not supported, by ZenML module prefix or name
_INTEGRATION_ADVICE = {
    "mlflow": "mlx has no experiment tracker or model registry integration: log metrics with "
    "log_metadata() and keep models as step outputs (mlx model promote for stages)",
    "wandb": "mlx has no experiment tracker integration: log metrics with log_metadata()",
    "slack": "mlx has no alerters: send the message from an on_failure/on_success hook "
    "(e.g. with slack_sdk)",
    "discord": "mlx has no alerters: send the message from an on_failure/on_success hook",
    "evidently": "call evidently in a step and return the report (HTMLString) as an output",
    "deepchecks": "call deepchecks in a step and return its result as an output",
    "great_expectations": "call great_expectations in a step and return its result",
    "bentoml": "mlx does not deploy models: export the artifact (mlx artifacts export)",
    "seldon": "mlx does not deploy models: export the artifact (mlx artifacts export)",
    "kubeflow": "use an mlx stack (local, local_parallel, dask) instead of a ZenML orchestrator",
    "kubernetes": "use an mlx stack (local, local_parallel, dask) instead of a ZenML orchestrator",
    "sklearn": "scikit-learn models need no integration in mlx: return them from steps",
    "pandas": "pandas values need no integration in mlx: return them from steps",
    "numpy": "numpy values need no integration in mlx: return them from steps",
}
_NAME_ADVICE = {
    "BaseStepConfig": "pre-0.20 ZenML API: turn the config's fields into typed step parameters",
    "BaseParameters": "pre-0.40 ZenML API: turn the fields into typed step parameters",
    "Output": "pre-0.40 ZenML API: name outputs with Annotated[T, 'name'] in a tuple return",
    "step_operator": "mlx has no step operators; remove it",
    "experiment_tracker": "mlx has no experiment trackers; log metrics with log_metadata()",
}


@dataclass(frozen=True)
class Leftover:
    """Something ``mlx port`` could not port, where it is and what to do."""

    path: str
    line: int
    what: str
    todo: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what} — {self.todo}"


@dataclass
class PortReport:
    """What a port changed, created and left for the user."""

    root: Path
    changed: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    leftovers: list[Leftover] = field(default_factory=list)
    models: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.leftovers


# -- source rewriting (pure) -------------------------------------------------------------------
def rewrite_source(text: str, path: str = "<string>") -> tuple[str, list[Leftover]]:
    """Return ``text`` with ZenML imports turned into engine imports, and what was left.

    Raises:
        MlxError: ``text`` is not valid Python (named by ``path`` and line).
    """
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise MlxError(f"{path}:{exc.lineno}: cannot parse: {exc.msg}") from exc
    lines = io.StringIO(text, newline="").readlines()  # line ends as ast counts them
    edits: list[tuple[ast.stmt, list[str]]] = []
    leftovers: list[Leftover] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _is_zenml(node.module):
            statements, left = _port_from(node, path)
            edits.append((node, statements))
            leftovers += left
        elif isinstance(node, ast.Import) and any(_is_zenml(a.name) for a in node.names):
            statements, left = _port_import(node, path)
            edits.append((node, statements))
            leftovers += left
        elif isinstance(node, ast.Call):
            leftovers += _unsupported_keywords(node, path)
    for node, statements in sorted(edits, key=lambda e: e[0].lineno, reverse=True):
        end = node.end_lineno or node.lineno
        head = _prefix(lines[node.lineno - 1], node.col_offset)
        rest = _prefix(lines[end - 1], node.end_col_offset or 0, tail=True)
        joined = ("; " if head.strip() else "\n" + head).join(statements)
        lines[node.lineno - 1 : end] = [head + joined + rest]
    return "".join(lines), sorted(leftovers, key=lambda x: x.line)


def _prefix(line: str, col: int, tail: bool = False) -> str:
    """Text before (or after, with ``tail``) UTF-8 byte offset ``col`` of ``line``."""
    data = line.encode("utf-8")
    return (data[col:] if tail else data[:col]).decode("utf-8")


def _is_zenml(module: str | None) -> bool:
    return module is not None and (module == "zenml" or module.startswith("zenml."))


def _port_from(node: ast.ImportFrom, path: str) -> tuple[list[str], list[Leftover]]:
    module = node.module or "zenml"
    kept: list[str] = []
    ported: list[str] = []
    materializers: list[str] = []
    leftovers: list[Leftover] = []
    integration = _integration(module)
    for alias in node.names:
        shown = alias.name + (f" as {alias.asname}" if alias.asname else "")
        target = SUPPORTED.get(alias.name)
        if integration is None and alias.name in MATERIALIZERS:
            mlx_name = MATERIALIZERS[alias.name]
            local = alias.asname or alias.name
            materializers.append(mlx_name if local == mlx_name else f"{mlx_name} as {local}")
        elif integration is None and target is not None:
            local = alias.asname or alias.name
            ported.append(target if local == target else f"{target} as {local}")
        else:
            kept.append(shown)
            todo = _INTEGRATION_ADVICE.get(integration or "", "") or _NAME_ADVICE.get(
                alias.name, "no mlx equivalent yet; see the README's ZenML compatibility table"
            )
            leftovers.append(Leftover(path, node.lineno, f"from {module} import {alias.name}",
                                      todo))  # fmt: skip
    out = []
    if ported:
        out.append(f"from engine import {', '.join(ported)}")
    if materializers:
        out.append(f"from engine.materializers import {', '.join(materializers)}")
    if kept:
        out.append(f"from {module} import {', '.join(kept)}")
    return out, leftovers


def _port_import(node: ast.Import, path: str) -> tuple[list[str], list[Leftover]]:
    out: list[str] = []
    leftovers: list[Leftover] = []
    for alias in node.names:
        if alias.name == "zenml":
            out.append(f"import engine as {alias.asname or 'zenml'}")
        elif _is_zenml(alias.name):
            out.append(f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else ""))
            integration = _integration(alias.name) or ""
            leftovers.append(Leftover(path, node.lineno, f"import {alias.name}",
                                      _INTEGRATION_ADVICE.get(integration, "import the names "
                                      "you use with `from zenml import NAME` and run mlx port "
                                      "again")))  # fmt: skip
        else:
            out.append(f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else ""))
    return out, leftovers


def _integration(module: str) -> str | None:
    match = re.match(r"zenml\.integrations\.([a-z_]+)", module)
    if match:
        return match.group(1)
    return None


def _unsupported_keywords(node: ast.Call, path: str) -> list[Leftover]:
    found = []
    for kw in node.keywords:
        if kw.arg in ("experiment_tracker", "step_operator") and not (
            isinstance(kw.value, ast.Constant) and kw.value.value is None
        ):
            found.append(Leftover(path, kw.value.lineno, f"{kw.arg}=", _NAME_ADVICE[kw.arg]))
    return found


# -- the project -------------------------------------------------------------------------------
def port_project(root: Path, *, force: bool = False) -> PortReport:
    """Port the ZenML project in ``root`` (see the module docstring).

    Raises:
        MlxError: the git work tree has uncommitted changes and ``force`` is False.
    """
    root = root.resolve()
    if not root.is_dir():
        raise MlxError(f"{root} is not a directory")
    if not force:
        _refuse_dirty(root)
    report = PortReport(root)
    pipeline_modules: list[str] = []
    for path in python_files(root):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        new, leftovers = rewrite_source(text, rel) if "zenml" in text else (text, [])
        report.leftovers += leftovers
        if new != text:
            _write(path, new)
            report.changed.append(rel)
        if re.search(r"^\s*@pipeline\b", new, re.MULTILINE):
            pipeline_modules.append(rel)
    report.leftovers += _yaml_leftovers(root)
    created, report.models = write_project_files(root, pipeline_modules)
    report.created += created
    return report


def _refuse_dirty(root: Path) -> None:
    import subprocess

    proc = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True,
                          text=True)  # fmt: skip
    if proc.returncode == 0 and proc.stdout.strip():
        count = len(proc.stdout.splitlines())
        raise MlxError(
            f"{root} has {count} uncommitted change{'s' if count > 1 else ''}: commit or stash "
            "them first so the port is one reviewable diff, or pass --force"
        )


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".mlx-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _yaml_leftovers(root: Path) -> list[Leftover]:
    leftovers = []
    for path in yaml_files(root):
        rel = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            key = line.split("#", 1)[0].strip().split(":", 1)[0].strip()
            if key in ("experiment_tracker", "step_operator") and line.split(":", 1)[1].strip():
                leftovers.append(Leftover(rel, number, f"{key}:", _NAME_ADVICE[key]))
    return leftovers
