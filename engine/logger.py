"""``get_logger``: ZenML's ``zenml.logger.get_logger`` for ported code.

Like ZenML's, the logger prints INFO and above without any set-up by the script. Records go
to whatever ``sys.stderr`` is when they are emitted: the terminal outside a step, the step's
log file inside one (the executor redirects it there), so nothing is lost or doubled.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["get_logger"]


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that looks ``sys.stderr`` up at every record."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


_HANDLER = _CurrentStderr()


def get_logger(logger_name: str) -> logging.Logger:
    """The logger named ``logger_name`` (usually ``__name__``), printing INFO and above."""
    logger = logging.getLogger(logger_name)
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)
        logger.propagate = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    return logger
