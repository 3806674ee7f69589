"""Loading indicators that appear only for slow loads.

A load that finishes within :data:`LOADING_AFTER` shows nothing (an indicator that flashes for a
frame is noise); a slower one shows the widget's loading indicator until it ends.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.widget import Widget

__all__ = ["LOADING_AFTER", "loading_after"]

LOADING_AFTER = 0.1  # seconds


def loading_after(widget: Widget, delay: float = LOADING_AFTER) -> Callable[[], None]:
    """Show ``widget``'s loading indicator if what is starting takes longer than ``delay``.

    Returns the function that ends it: call it when the data is in or the load failed.
    """
    ended = False

    def show() -> None:
        if not ended:  # a timer that already fired may still call this after stop()
            widget.loading = True

    timer = widget.set_timer(delay, show)

    def done() -> None:
        nonlocal ended
        ended = True
        timer.stop()
        widget.loading = False

    return done
