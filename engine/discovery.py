"""Find pipelines by name in the modules ``mlx.toml`` lists (default: ``pipelines/``).

Each listed entry is a module or a package; every module of a package is imported, so dropping
``pipelines/foo.py`` in is enough. Import errors are reported with the file and the fix.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from types import ModuleType

from engine.pipeline import Pipeline
from store.errors import ConfigError, NotFoundError
from store.project import Project

__all__ = ["discover_pipelines", "get_pipeline"]


def discover_pipelines(project: Project) -> dict[str, Pipeline]:
    """``name -> Pipeline`` for every @pipeline in the project's pipeline modules."""
    root = str(project.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    _forget_foreign_modules(project)
    found: dict[str, Pipeline] = {}
    # importing user modules must not write __pycache__/ into their work tree
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        for entry in project.config.project.pipelines:
            for module in _modules(entry, project):
                for value in vars(module).values():
                    if isinstance(value, Pipeline):
                        found.setdefault(value.name, value)
    finally:
        sys.dont_write_bytecode = saved
    return found


def _forget_foreign_modules(project: Project) -> None:
    """Drop cached pipeline modules imported from another project (tests, the TUI)."""
    for entry in project.config.project.pipelines:
        top = entry.split(".")[0]
        module = sys.modules.get(top)
        origin = getattr(module, "__file__", None) or ""
        if module is not None and not origin.startswith(str(project.root)):
            for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
                del sys.modules[name]


def get_pipeline(project: Project, name: str) -> Pipeline:
    pipelines = discover_pipelines(project)
    if name not in pipelines:
        where = ", ".join(project.config.project.pipelines)
        raise NotFoundError("pipeline", name, pipelines, hint=f"(searched: {where})")
    return pipelines[name]


def _modules(entry: str, project: Project) -> list[ModuleType]:
    module = _import(entry, project)
    if module is None:
        return []
    modules = [module]
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=f"{entry}."):
        sub = _import(info.name, project)
        if sub is not None:
            modules.append(sub)
    return modules


def _import(name: str, project: Project) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name or (exc.name and name.startswith(exc.name + ".")):
            if name in project.config.project.pipelines and name != "pipelines":
                from store.config import locate_key

                text = project.config_path.read_text(encoding="utf-8")
                raise ConfigError(
                    str(project.config_path),
                    f"pipeline module {name!r} not found",
                    key="project.pipelines",
                    line=locate_key(text, ["project", "pipelines"]),
                ) from exc
            return None
        raise ConfigError(
            name.replace(".", "/") + ".py", f"import failed: {exc}\n{traceback.format_exc()}"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - user code: show where it broke
        raise ConfigError(
            name.replace(".", "/") + ".py",
            f"importing pipeline module failed: {type(exc).__name__}: {exc}\n"
            f"{traceback.format_exc()}",
        ) from exc
