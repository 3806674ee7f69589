"""Loading indicators that appear only for slow loads.

A load that finishes within :data:`LOADING_AFTER` shows nothing (an indicator that flashes for a
frame is noise); a slower one shows its indicator until it ends. :func:`loading_after` uses the
widget's own loading indicator; :func:`when_slow` takes any show/hide pair (a line of text where
an indicator would take the focus away).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.widget import Widget

__all__ = ["LOADING_AFTER", "loading_after", "when_slow"]

LOADING_AFTER = 0.1  # seconds


def when_slow(
    owner: Widget, show: Callable[[], None], hide: Callable[[], None], delay: float = LOADING_AFTER
) -> Callable[[], None]:
    """Call ``show`` if what is starting takes longer than ``delay`` (a timer of ``owner``).

    Returns the function that ends it (it calls ``hide``): call it when the data is in or the
    load failed.
    """
    ended = False

    def fire() -> None:
        if not ended:  # a timer that already fired may still call this after stop()
            show()

    timer = owner.set_timer(delay, fire)

    def done() -> None:
        nonlocal ended
        ended = True
        timer.stop()
        hide()

    return done


def loading_after(widget: Widget, delay: float = LOADING_AFTER) -> Callable[[], None]:
    """Show ``widget``'s loading indicator if what is starting takes longer than ``delay``."""

    def loading(on: bool) -> Callable[[], None]:
        return lambda: setattr(widget, "loading", on)

    return when_slow(widget, loading(True), loading(False), delay)
