"""engine/ has floors: the user API over the run machinery over artifact I/O.

Every import between engine modules counts: module-level, inside functions and under
``if TYPE_CHECKING:`` (a type named from an upper floor is still a dependency on it). An
import may stay on its floor or go down, never up, and no engine modules import each other in
a circle. A new module must be given a floor below.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENGINE = REPO / "engine"

# Top to bottom. A name ending in ".*" covers a subpackage (its __init__ and its modules).
FLOORS: list[tuple[str, set[str]]] = [
    ("package facade", {"engine"}),
    (
        "user API",
        {
            "engine.artifact_utils",
            "engine.client",
            "engine.compat",
            "engine.context",
            "engine.discovery",
            "engine.enums",
            "engine.hooks",
            "engine.logger",
            "engine.model",
            "engine.model_run",
            "engine.pipeline",
            "engine.porting",
            "engine.porting_files",
            "engine.reproduce",
            "engine.run_config",
            "engine.step",
        },
    ),
    (
        "run machinery",
        {
            "engine.cache_lookup",
            "engine.cancellation",
            "engine.compiler",
            "engine.events",
            "engine.executor",
            "engine.model_linking",
            "engine.orchestrators.*",
            "engine.run_driver",
            "engine.run_hooks",
            "engine.runner",
            "engine.run_names",
            "engine.runtime",
            "engine.step_logs",
        },
    ),
    (
        "artifact I/O",
        {
            "engine.artifacts",
            "engine.caching",
            "engine.exporting",
            "engine.fileio",
            "engine.materializers.*",
            "engine.retry",
            "engine.settings",
            "engine.types",
        },
    ),
]


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


def _known_modules() -> set[str]:
    return {_module_name(p) for p in ENGINE.rglob("*.py")}


def _engine_imports(path: Path, known: set[str]) -> list[tuple[int, str]]:
    """``(line, module)`` of every engine module ``path`` imports, wherever the import is."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            for alias in node.names:  # `from engine import events` imports engine.events
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if sub in known else base))
    return [(line, m) for line, m in found if m in known]


def _floor(module: str) -> int:
    for index, (_, members) in enumerate(FLOORS):
        for member in members:
            if module == member or (
                member.endswith(".*") and (module == member[:-2] or module.startswith(member[:-1]))
            ):
                return index
    raise AssertionError(f"{module} has no floor: add it to FLOORS in {Path(__file__).name}")


def _graph() -> dict[str, dict[str, int]]:
    """``module -> {imported engine module: line}``."""
    known = _known_modules()
    graph: dict[str, dict[str, int]] = {}
    for path in sorted(ENGINE.rglob("*.py")):
        name = _module_name(path)
        graph[name] = {m: line for line, m in _engine_imports(path, known) if m != name}
    return graph


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in graph[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_scanner_sees_function_level_type_checking_and_from_package_imports() -> None:
    graph = _graph()

    assert "engine.runner" in graph["engine.pipeline"]  # inside Pipeline.__call__
    assert "engine.artifacts" in graph["engine.runtime"]  # under TYPE_CHECKING
    assert "engine.events" in graph["engine.run_driver"]  # `from engine import events as ev`
    assert "engine.executor" in graph["engine.orchestrators.parallel"]  # `from engine import`


def test_cycle_finder_reports_a_circle_hidden_in_a_function() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 3}, "c": {"a": 9}, "d": {"a": 2}}

    assert _cycles(graph) == [["a", "b", "c"]]


def test_every_engine_module_has_a_floor() -> None:
    for module in _graph():
        _floor(module)


def test_lower_floors_never_import_upper_ones() -> None:
    upward = [
        f"{module.replace('.', '/')}:{line} ({FLOORS[_floor(module)][0]}) imports "
        f"{dep} ({FLOORS[_floor(dep)][0]})"
        for module, deps in _graph().items()
        for dep, line in deps.items()
        if _floor(dep) < _floor(module)
    ]

    assert upward == []


def test_engine_modules_import_each_other_in_no_circle() -> None:
    assert _cycles(_graph()) == []
