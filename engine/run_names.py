"""Run names: ``run_name=`` with ZenML's placeholders, or ``<pipeline>-<date>-<time>``.

ZenML formats a run name template with ``{date}`` and ``{time}`` (UTC, when the run starts)
and the pipeline's ``substitutions``; a placeholder it cannot fill is an error (a ``KeyError``
naming it), and so is an empty name. Without a template a run is called after its pipeline
and its start time.

Uniqueness. ZenML refuses a run whose name is taken (``EntityExistsError``: "Unable to create
pipeline run: A pipeline run with name ... already exists"). mlx has no server, so a name is
unique *per runs ref*, checked twice:

* when the run starts, against the recorded runs and the runs in progress in this clone
  (their journals): a taken name refuses the run before anything executes, as in ZenML;
* when the run is committed, inside the runs ref's compare-and-swap loop, against the tip it
  is appended to: two processes that started with the same name at the same moment cannot
  both keep it. The one that commits second is still recorded (its outputs stay reusable by
  the cache) but as ``failed``, renamed ``<name>-<run id prefix>``, with the conflict as its
  error, so the pipeline call raises.

Two clones that never saw each other's runs can pick the same name; when their runs refs are
merged (``mlx sync``) both runs are kept (records are immutable and the run id is the key),
and a lookup by that name then reports the ambiguity and lists the ids. Names made from the
default template embed the start time to the microsecond and are not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from store.errors import EntityExistsError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from store.project import Project

__all__ = ["check_run_name", "run_name"]


def run_name(
    template: str | None,
    pipeline: str,
    started: datetime,
    substitutions: Mapping[str, str] | None = None,
) -> str:
    """The name of a run of ``pipeline`` started at ``started``.

    Raises:
        NotFoundError: (a ``KeyError``) the template has a placeholder with no value.
        ValidationError: the name comes out empty.
    """
    values = {
        "date": started.strftime("%Y_%m_%d"),
        "time": started.strftime("%H_%M_%S_%f"),
        "pipeline_name": pipeline,
        **{str(k): str(v) for k, v in (substitutions or {}).items()},
    }
    if not template:
        return f"{pipeline}-{values['date']}-{values['time']}"
    try:
        name = template.format(**values)
    except KeyError as exc:
        raise NotFoundError(
            f"placeholder in run_name {template!r}", str(exc.args[0]), sorted(values),
            hint="(give it with substitutions={...} on the pipeline or in the run configuration)",
        ) from exc  # fmt: skip
    except (IndexError, ValueError) as exc:
        raise ValidationError(f"run_name {template!r} is not a valid name template: {exc}") from exc
    if not name.strip():
        raise ValidationError(f"run_name {template!r} formats to an empty name")
    return name


def check_run_name(project: Project, name: str, run_id: str) -> None:
    """Refuse a run whose name a recorded run or a run in progress in this clone has.

    Raises:
        EntityExistsError: the name is taken.
    """
    from store.journal import read_journals
    from store.paths import journal_dir
    from store.recorder import run_name_conflict

    taken = [r for r in project.index.runs_named(name) if r != run_id]
    for state in read_journals(journal_dir(project.git.common_dir)):
        run = state.header.get("run") or {}
        if state.alive and run.get("name") == name and run.get("id") != run_id:
            taken.append(str(run.get("id")))
    if taken:
        raise EntityExistsError(run_name_conflict(name, taken[0]))
