"""Step retries: ``@step(retry=StepRetryConfig(max_retries=3, delay=1, backoff=2))``.

Names follow ZenML. A failed attempt (the step raised, or the process or Dask worker running it
died) is run again while retries remain, after ``delay * backoff ** (attempt - 1)`` seconds.
The driver decides (:meth:`engine.runner.RunDriver.retry`) so every orchestrator retries the
same way; the attempts and the error of the last retried attempt are kept on the step record.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.errors import ValidationError

__all__ = ["StepRetryConfig"]


@dataclass(frozen=True)
class StepRetryConfig:
    """How often and how patiently a failed step is run again.

    Args:
        max_retries: attempts after the first one (0: never retry).
        delay: seconds to wait before the first retry.
        backoff: factor applied to the delay before each further retry.
    """

    max_retries: int = 1
    delay: float = 0
    backoff: float = 1

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.delay < 0 or self.backoff < 1:
            raise ValidationError(
                f"StepRetryConfig(max_retries={self.max_retries}, delay={self.delay}, "
                f"backoff={self.backoff}): max_retries and delay must be >= 0 and backoff >= 1"
            )

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before ``attempt`` (2 is the first retry)."""
        return float(self.delay * self.backoff ** max(attempt - 2, 0))
