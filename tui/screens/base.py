"""What every mlx screen shares: the services handle, background calls and error reporting.

Store and engine calls block (git subprocesses, SQLite, DVC), so screens never make them on the
event loop. :meth:`Background.background` runs one in a thread worker and hands the result to a
callback on the event loop; a failure becomes an error notification naming the exception,
never a crash. ``exclusive`` groups mean a newer request (the cursor moved again) cancels the
older one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from store.errors import MlxError

if TYPE_CHECKING:
    from tui.services import Services

__all__ = ["Background", "MlxModal", "MlxScreen", "describe_error"]


def describe_error(error: BaseException | None) -> str:
    if error is None:
        return "unknown error"
    if isinstance(error, MlxError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class Background:
    """Mixin for screens: ``self.background(fn, *args, done=callback)``."""

    _mlx_callbacks: dict[Worker[Any], Callable[[Any], None] | None]

    @property
    def services(self) -> Services:
        return self.app.services  # type: ignore[attr-defined,no-any-return]

    def background(
        self,
        fn: Callable[..., Any],
        *args: Any,
        done: Callable[[Any], None] | None = None,
        group: str = "load",
        exclusive: bool = True,
    ) -> Worker[Any]:
        if not hasattr(self, "_mlx_callbacks"):
            self._mlx_callbacks = {}
        worker: Worker[Any] = self.run_worker(  # type: ignore[attr-defined]
            partial(fn, *args),
            thread=True,
            group=group,
            exclusive=exclusive,
            exit_on_error=False,
            name=getattr(fn, "__name__", group),
        )
        self._mlx_callbacks[worker] = done
        return worker

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        callbacks = getattr(self, "_mlx_callbacks", {})
        worker = event.worker
        if worker not in callbacks:
            return
        if event.state == WorkerState.SUCCESS:
            done = callbacks.pop(worker)
            if done is not None:
                done(worker.result)
        elif event.state == WorkerState.ERROR:
            callbacks.pop(worker)
            self.on_background_error(worker.error)
        elif event.state == WorkerState.CANCELLED:
            callbacks.pop(worker)

    def on_background_error(self, error: BaseException | None) -> None:
        self.notify(describe_error(error), title="error", severity="error", timeout=8)  # type: ignore[attr-defined]


class MlxScreen(Background, Screen[None]):
    """A full screen: ``esc`` goes back when something is underneath."""

    BINDINGS = [Binding("escape", "back", "Back", id="back")]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":  # nothing to go back to from a mode's first screen
            return len(self.app.screen_stack) > 1
        return True

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()


class MlxModal(Background, ModalScreen[Any]):
    """A dialog: ``esc`` dismisses it with ``None``."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)
