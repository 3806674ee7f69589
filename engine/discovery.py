"""Find pipelines by name without importing what does not run.

The modules ``mlx.toml`` lists (default: the ``pipelines`` package, every module under it) are
first *read*, not imported: a static scan (``ast``) finds each ``@pipeline`` function (bare or
called, ``name=`` overrides, ``engine.pipeline`` or an alias) with its file and line. Running
pipeline X then imports only the module that defines X and verifies there that the pipeline
exists, so a project whose other modules import torch, sleep or do not even parse still runs
X at full speed. A name defined twice is refused, naming both places.

Pipelines made without a literal decorator (``pipeline(name=n)(f)``, ``Pipeline(...)``,
``p.with_options(name=...)``) cannot be named by reading; modules that do that are imported
only when a name is not found statically. Listing (``mlx pipelines``, the app) imports every
module that defines a pipeline and reports modules that cannot be read or imported as warnings.
"""

from __future__ import annotations

import ast
import importlib
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from engine.pipeline import Pipeline
from store.errors import ConfigError, NotFoundError, ValidationError
from store.project import Project

__all__ = [
    "PipelineCatalog",
    "PipelineSite",
    "Scan",
    "get_pipeline",
    "list_pipelines",
    "scan_pipelines",
]

# Where the @pipeline decorator may come from (zenml: ported projects keep their imports).
_DECORATOR_MODULES = {"engine", "engine.pipeline", "zenml", "zenml.pipelines"}


@dataclass(frozen=True)
class PipelineSite:
    """A ``@pipeline`` found by reading a module: its name and where it is defined."""

    name: str
    module: str
    path: str  # relative to the project root
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Scan:
    """What reading the pipeline modules found."""

    sites: dict[str, list[PipelineSite]] = field(default_factory=dict)
    dynamic: list[tuple[str, str]] = field(default_factory=list)  # (module, path) to import
    problems: list[str] = field(default_factory=list)  # "file:line: what" of unreadable modules

    def duplicates(self) -> dict[str, list[PipelineSite]]:
        return {name: sites for name, sites in self.sites.items() if len(sites) > 1}


@dataclass
class PipelineCatalog:
    """Every pipeline that could be imported, and what went wrong elsewhere (as warnings)."""

    pipelines: dict[str, Pipeline]
    warnings: list[str]


def scan_pipelines(project: Project) -> Scan:
    """Read (never import) the project's pipeline modules and find their ``@pipeline``s."""
    scan = Scan()
    for entry in project.config.project.pipelines:
        for module, path in _module_files(entry, project):
            _scan_file(scan, module, path, project.root)
    return scan


def get_pipeline(project: Project, name: str) -> Pipeline:
    """The pipeline called ``name``, importing only the module that defines it.

    Raises:
        ValidationError: two modules define ``name`` (both places are named).
        ConfigError: the defining module fails to import, or does not define it after all.
        NotFoundError: no module defines ``name``.
    """
    scan = scan_pipelines(project)
    sites = scan.sites.get(name, [])
    if len(sites) > 1:
        raise ValidationError(_twice(name, sites))
    if sites:
        site = sites[0]
        with _importing(project):
            found = _pipelines_in(_import(site.module, site.path, project))
        if name not in found:
            raise ConfigError(site.path, f"@pipeline {name!r} is not defined after importing "
                              f"{site.module}", line=site.line)  # fmt: skip
        return found[name]
    found, problems = _import_all(project, scan.dynamic)
    if name in found:
        return found[name]
    where = ", ".join(project.config.project.pipelines)
    hint = f"(searched: {where})"
    if scan.problems or problems:
        hint += "; modules that could not be used: " + "; ".join(scan.problems + problems)
    raise NotFoundError("pipeline", name, [*scan.sites, *found], hint=hint)


def list_pipelines(project: Project) -> PipelineCatalog:
    """Import every module that defines a pipeline; what fails becomes a warning, not an error."""
    scan = scan_pipelines(project)
    targets: dict[str, str] = {}
    for sites in scan.sites.values():
        for site in sites:
            targets.setdefault(site.module, site.path)
    for module, path in scan.dynamic:
        targets.setdefault(module, path)
    found, problems = _import_all(project, list(targets.items()))
    warnings = scan.problems + problems
    for name, sites in sorted(scan.duplicates().items()):
        warnings.append(_twice(name, sites))
        found.pop(name, None)
    return PipelineCatalog(dict(sorted(found.items())), warnings)


def _twice(name: str, sites: list[PipelineSite]) -> str:
    places = " and ".join(s.where for s in sites)
    return (
        f"pipeline {name!r} is defined {len(sites)} times: {places}; "
        "rename one (@pipeline(name=...))"
    )


# -- reading -----------------------------------------------------------------------------------
def _module_files(entry: str, project: Project) -> list[tuple[str, Path]]:
    """``(module name, file)`` of ``entry`` and, for a package, of every module under it."""
    base = project.root.joinpath(*entry.split("."))
    module = base.with_suffix(".py")
    # Python's own order: a package, then a module, then a namespace package
    if (base / "__init__.py").is_file() or (base.is_dir() and not module.is_file()):
        return list(_package_files(entry, base))
    if module.is_file():
        return [(entry, module)]
    if entry != "pipelines":  # the default may be absent; a listed module may not
        from store.config import locate_key

        text = project.config_path.read_text(encoding="utf-8")
        raise ConfigError(str(project.config_path), f"pipeline module {entry!r} not found",
                          key="project.pipelines",
                          line=locate_key(text, ["project", "pipelines"]))  # fmt: skip
    return []


def _package_files(package: str, folder: Path) -> Iterator[tuple[str, Path]]:
    init = folder / "__init__.py"
    if init.is_file():
        yield package, init
    for path in sorted(folder.iterdir()):
        if not path.stem.isidentifier():
            continue
        if path.suffix == ".py" and path.name != "__init__.py":
            yield f"{package}.{path.stem}", path
        elif path.is_dir() and (path / "__init__.py").is_file():
            yield from _package_files(f"{package}.{path.name}", path)


def _scan_file(scan: Scan, module: str, path: Path, root: Path) -> None:
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        scan.problems.append(f"{rel}: cannot be read ({exc})")
        return
    if "pipeline" not in text and "Pipeline" not in text:
        return  # cheap: most helper modules never mention it
    try:
        tree = ast.parse(text, filename=rel)
    except SyntaxError as exc:
        scan.problems.append(f"{rel}:{exc.lineno}: SyntaxError: {exc.msg}")
        return
    reader = _Reader(tree)
    for name, line in reader.sites:
        scan.sites.setdefault(name, []).append(PipelineSite(name, module, rel, line))
    if reader.dynamic:
        scan.dynamic.append((module, rel))


class _Reader:
    """The ``@pipeline`` sites of one module's syntax tree, and whether it makes others."""

    def __init__(self, tree: ast.Module) -> None:
        self.functions: set[str] = set()  # local names of the pipeline decorator
        self.classes: set[str] = set()  # local names of the Pipeline class
        self.modules: set[str] = set()  # local names of modules that export both
        self._imports(tree)
        self.sites: list[tuple[str, int]] = []
        self.dynamic = False
        decorators: set[int] = set()
        for node in _top_level(tree.body):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                if not self._is_pipeline(target):
                    continue
                decorators.add(id(target))
                name = _name_argument(dec, node.name) if isinstance(dec, ast.Call) else node.name
                if name is None:
                    self.dynamic = True
                else:
                    self.sites.append((name, node.lineno))
        self.dynamic = self.dynamic or any(
            self._makes_pipeline(node, decorators) for node in ast.walk(tree)
        )

    def _imports(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in _DECORATOR_MODULES:
                for alias in node.names:
                    if alias.name in ("pipeline", "*"):
                        self.functions.add(alias.asname or "pipeline")
                    if alias.name in ("Pipeline", "*"):
                        self.classes.add(alias.asname or "Pipeline")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in _DECORATOR_MODULES:
                        self.modules.add(alias.asname or alias.name)

    def _is_pipeline(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.functions
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "pipeline"
            and ast.unparse(node.value) in self.modules
        )

    def _makes_pipeline(self, node: ast.AST, decorators: set[int]) -> bool:
        """A use that is not a literal decorator: ``pipeline(...)``, ``Pipeline(...)``, ..."""
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        if self._is_pipeline(func) and id(func) not in decorators:
            return True
        if isinstance(func, ast.Name) and func.id in self.classes:
            return True
        if isinstance(func, ast.Attribute):
            if func.attr == "Pipeline" and ast.unparse(func.value) in self.modules:
                return True
            if func.attr == "with_options" and any(k.arg == "name" for k in node.keywords):
                return True
        return False


def _top_level(body: list[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions defined at module level, also inside module-level if/try/with blocks."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node
        elif isinstance(node, ast.If | ast.Try | ast.With):
            blocks = [node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])]
            blocks += [h.body for h in getattr(node, "handlers", [])]
            for block in blocks:
                yield from _top_level(block)


def _name_argument(call: ast.Call, default: str) -> str | None:
    """The pipeline name a ``@pipeline(...)`` call gives; None when it is not a literal."""
    for keyword in call.keywords:
        if keyword.arg is None:  # **options may carry a name
            return None
        if keyword.arg == "name":
            value = keyword.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
            return None
    return default


# -- importing ---------------------------------------------------------------------------------
@contextmanager
def _importing(project: Project) -> Iterator[None]:
    """Make the project importable; keep __pycache__/ out of the user's work tree."""
    root = str(project.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    _forget_foreign_modules(project)
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        yield
    finally:
        sys.dont_write_bytecode = saved


def _forget_foreign_modules(project: Project) -> None:
    """Drop cached pipeline modules imported from another project (tests, the TUI)."""
    for entry in project.config.project.pipelines:
        top = entry.split(".")[0]
        module = sys.modules.get(top)
        origin = getattr(module, "__file__", None) or ""
        if module is not None and not origin.startswith(str(project.root)):
            for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
                del sys.modules[name]


def _import_all(
    project: Project, modules: list[tuple[str, str]]
) -> tuple[dict[str, Pipeline], list[str]]:
    """Import ``(module, path)`` pairs; a module that fails becomes a problem line."""
    found: dict[str, Pipeline] = {}
    problems: list[str] = []
    with _importing(project):
        for module, path in modules:
            try:
                imported = _import(module, path, project)
            except ConfigError as exc:
                problems.append(str(exc).splitlines()[0])
                continue
            for name, value in _pipelines_in(imported).items():
                found.setdefault(name, value)
    return found, problems


def _pipelines_in(module: ModuleType) -> dict[str, Pipeline]:
    found: dict[str, Pipeline] = {}
    for value in vars(module).values():
        if isinstance(value, Pipeline):
            found.setdefault(value.name, value)
    return found


def _import(module: str, path: str, project: Project) -> ModuleType:
    try:
        return importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - user code: show where it broke
        line = _user_line(exc, project)
        raise ConfigError(
            path,
            f"importing pipeline module {module} failed: {type(exc).__name__}: {exc}"
            f"{line}\n{traceback.format_exc()}",
        ) from exc


def _user_line(exc: BaseException, project: Project) -> str:
    """`` (at file:line)`` of the innermost frame inside the project, when there is one."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" (at {exc.filename}:{exc.lineno})"
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.startswith(str(project.root))]  # fmt: skip
    if not frames:
        return ""
    where = Path(frames[-1].filename).relative_to(project.root).as_posix()
    return f" (at {where}:{frames[-1].lineno})"
