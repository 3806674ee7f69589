"""The project files ``mlx port`` writes when absent: mlx.toml, stacks/local.toml, models/*.toml.

Models are found where ZenML projects name them: ``Model(name="...")`` calls in code and
``model: {name: ...}`` in YAML run configurations. A model's TOML gets the description, tags
and license the YAML gives, no gates, and an empty ``[stages]`` table whose comment lists the
stages the configurations use. ``mlx.toml`` promotes directly (ZenML's ``set_stage`` takes
effect at once); switch to ``promotion = "pull-request"`` for reviewed promotions.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

from store.scaffold import ensure_git_dvc, stack_local_text, write_new

__all__ = ["python_files", "write_project_files", "yaml_files"]

_SKIP_DIRS = {
    ".git", ".dvc", ".venv", "venv", "env", "__pycache__", "node_modules", "build", "dist",
    ".tox", ".mypy_cache", ".ruff_cache", ".pytest_cache", "site-packages",
}  # fmt: skip

_BUILTIN_STAGES = {"staging", "production", "archived", "latest"}


def write_project_files(root: Path, pipeline_files: list[str]) -> tuple[list[str], list[str]]:
    """Create git/DVC (where missing) and the mlx files that do not exist yet.

    Returns:
        the files created (relative to ``root``) and the model names found.
    """
    created = ensure_git_dvc(root)
    write_new(root / "mlx.toml", _config_text(root.name, _modules(root, pipeline_files)),
              created, root)  # fmt: skip
    write_new(root / "stacks" / "local.toml", stack_local_text(), created, root)
    models = _models(root)
    for name, info in sorted(models.items()):
        write_new(root / "models" / f"{name}.toml", _model_text(name, info), created, root)
    return created, sorted(models)


def python_files(root: Path) -> list[Path]:
    """The project's ``.py`` files (virtualenvs, caches and hidden folders left out)."""
    return _files(root, (".py",))


def yaml_files(root: Path) -> list[Path]:
    """The project's YAML files (run configurations among them)."""
    return _files(root, (".yaml", ".yml"))


def _files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        found += [Path(dirpath) / f for f in sorted(filenames) if f.endswith(suffixes)]
    return found


def _config_text(name: str, modules: list[str]) -> str:
    import tomli_w

    listed = tomli_w.dumps({"pipelines": modules or ["pipelines"]}).strip()
    return f"""# mlx project configuration (written by `mlx port`)
[project]
name = {tomli_w.dumps({"n": name}).split("=", 1)[1].strip()}
default_stack = "local"
# Modules or packages holding @pipeline functions (every module of a package is searched).
{listed}
runs_ref = "refs/mlx/runs"
# ZenML's Model.set_stage() takes effect at once: "direct" commits the stage line on the
# current branch. Use "pull-request" to review promotions as branches instead.
promotion = "direct"
"""


def _modules(root: Path, files: list[str]) -> list[str]:
    """Importable names of the modules (or their top-level packages) defining pipelines."""
    found: list[str] = []
    for rel in files:
        parts = Path(rel).with_suffix("").parts
        top = root / parts[0]
        name = parts[0] if len(parts) > 1 and (top / "__init__.py").is_file() else ".".join(parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        if name not in found:
            found.append(name)
    return found


def _models(root: Path) -> dict[str, dict[str, Any]]:
    models: dict[str, dict[str, Any]] = {}
    for path in python_files(root):
        for name in _model_names_in_code(path):
            models.setdefault(name, {"stages": set()})
    for path in yaml_files(root):
        for table in _model_tables_in_yaml(path):
            info = models.setdefault(str(table["name"]), {"stages": set()})
            for key in ("description", "license"):
                if table.get(key) and key not in info:
                    info[key] = str(table[key])
            if isinstance(table.get("tags"), list) and "tags" not in info:
                info["tags"] = [str(t) for t in table["tags"]]
            version = table.get("version")
            if isinstance(version, str) and version.lower() in _BUILTIN_STAGES - {"latest"}:
                info["stages"].add(version.lower())
    return models


def _model_names_in_code(path: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return []
    names = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if func not in ("Model", "ModelVersion"):
            continue
        for kw in node.keywords:
            if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                names.append(str(kw.value.value))
        if node.args and isinstance(node.args[0], ast.Constant):
            names.append(str(node.args[0].value))
    return names


def _model_tables_in_yaml(path: Path) -> list[dict[str, Any]]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return []
    if not isinstance(data, dict):
        return []
    tables = [data.get("model"), data.get("model_version")]  # model_version: ZenML < 0.55
    for step in (data.get("steps") or {}).values() if isinstance(data.get("steps"), dict) else []:
        if isinstance(step, dict):
            tables += [step.get("model"), step.get("model_version")]
    return [t for t in tables if isinstance(t, dict) and t.get("name")]


def _model_text(name: str, info: dict[str, Any]) -> str:
    import tomli_w

    data: dict[str, Any] = {
        "description": info.get("description", ""),
        "tags": info.get("tags", []),
        "license": info.get("license", ""),
    }
    stages = sorted(info.get("stages", ()))
    used = f" (the run configurations use: {', '.join(stages)})" if stages else ""
    return (
        f"# Model {name} (written by `mlx port`).\n"
        + tomli_w.dumps(data)
        + '\n# Promotion gates: metric = condition, e.g. accuracy = ">= 0.9".\n[gates]\n'
        + f"\n# Stage -> version number; set by promotions{used}.\n[stages]\n"
    )
