"""Dynamic pipelines (``@pipeline(dynamic=True)``): the body runs while the run executes.

Each step call in the body is planned, served from the cache or executed (in this process)
before the call returns, so Python control flow can depend on results: a call returns handles
whose ``.load()`` gives the stored value, and passing a handle to another step wires the
artifact as in a static pipeline. The recorded DAG is what ran; every step has its own cache
key. A step that fails stops the body (the rest of the run is not planned); an exception
raised by the body itself fails the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.compiler import Compiler, OutputHandle, PipelineSpec
from engine.orchestrators.base import Orchestrator, execute_here

if TYPE_CHECKING:
    from engine.compiler import StepDefinition

__all__ = ["DynamicOrchestrator", "LoadableOutput"]


@dataclass(frozen=True)
class LoadableOutput(OutputHandle):
    """An output of a step that already ran in a dynamic pipeline: ``.load()`` reads it."""

    loader: Callable[[], Any] | None = field(default=None, compare=False, repr=False)

    def load(self) -> Any:
        """The stored value of this output."""
        assert self.loader is not None
        return self.loader()


class _StepFailed(RuntimeError):
    pass


class DynamicCompiler(Compiler):
    """A compiler that runs each step as soon as the body calls it."""

    def __init__(self, driver: Any, overrides: Mapping[str, Any] | None = None) -> None:
        defaults: dict[str, Any] = getattr(driver.pipeline, "step_defaults", dict)()
        super().__init__(driver.pipeline.name, overrides, defaults)
        self.driver = driver

    def add_step(self, step: StepDefinition, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        handles = super().add_step(step, args, kwargs)
        name = next(reversed(self.invocations))
        driver = self.driver
        driver.spec = PipelineSpec(self.pipeline, dict(self.invocations),
                                   (*driver.spec.order, name))  # fmt: skip
        driver.store_externals(self.invocations[name])
        if driver.blocked(name):
            driver.skip(name)
            raise _StepFailed(name)
        execute_here(driver, driver.prepare(name))
        if driver.steps[name].status == "failed":
            raise _StepFailed(name)
        return self._loadable(handles)

    def _loadable(self, handles: Any) -> Any:
        if handles is None:
            return None
        if isinstance(handles, tuple):
            return tuple(self._loadable(h) for h in handles)
        return LoadableOutput(handles.step, handles.output, self._loader(handles))

    def _loader(self, handle: OutputHandle) -> Callable[[], Any]:
        from engine.artifacts import load_artifact_value

        driver = self.driver
        return lambda: load_artifact_value(
            driver.project, driver.outputs[(handle.step, handle.output)][1]
        )


class DynamicOrchestrator(Orchestrator):
    """Runs the body of a dynamic pipeline, one step at a time in call order."""

    flavor = "dynamic"

    def _run(self, driver: Any) -> None:
        compiler = DynamicCompiler(driver, getattr(driver.pipeline, "step_overrides", None))
        try:
            driver.pipeline.compile(driver.parameters, compiler=compiler)
        except _StepFailed:
            return  # recorded by the driver; the body stops like ZenML's does
        except Exception as exc:  # noqa: BLE001 - the body failed: the run fails, recorded
            driver.abort(exc)
