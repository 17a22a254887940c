"""A film library in one command: ``scenedet batch``, resumable after any crash, local or on Ray.

Library use::

    from scenedet.batch import BatchOutputs, LocalExecutor, plan_batch, prepare_settings, run_batch

    settings = prepare_settings("kissing", model="kissing.pt")
    outputs = BatchOutputs(formats=(".csv", ".edl"), plot=True)  # besides each NAME.json
    plan = plan_batch(["/films"], "results", settings, outputs=outputs)  # done / left
    report = run_batch(plan, LocalExecutor(settings, jobs=2))
    report.failed                                            # outcomes of the films that failed

Modules: :mod:`~scenedet.batch.discovery` (films and their output names),
:mod:`~scenedet.batch.state` (summary log, skip rule), :mod:`~scenedet.batch.jobs` (one film's
job), :mod:`~scenedet.batch.outputs` (what else each film gets, as ``scenedet run`` writes it), :mod:`~scenedet.batch.local` and :mod:`~scenedet.batch.ray_executor` (executors),
:mod:`~scenedet.batch.progress`, :mod:`~scenedet.batch.profiles` (``--profile``: the films'
profiles summed), :mod:`~scenedet.batch.driver` (plan and run). Importing this
package does not import torch or Ray.
"""

from __future__ import annotations

from scenedet.batch.discovery import VIDEO_SUFFIXES, LibraryFilm, discover
from scenedet.batch.driver import (BatchInterrupted, BatchPlan, BatchReport, PlannedFilm,
                                   plan_batch, prepare_settings, run_batch)
from scenedet.batch.jobs import BatchSettings, FilmJob, FilmOutcome, FilmRunner
from scenedet.batch.local import LocalExecutor
from scenedet.batch.outputs import BatchOutputs
from scenedet.batch.ray_executor import RayExecutor
from scenedet.batch.state import SUMMARY_NAME, content_hash, read_summary

__all__ = ["VIDEO_SUFFIXES", "LibraryFilm", "discover", "BatchInterrupted", "BatchPlan",
           "BatchReport", "PlannedFilm", "plan_batch", "prepare_settings", "run_batch",
           "BatchSettings", "FilmJob", "FilmOutcome", "FilmRunner", "LocalExecutor",
           "RayExecutor", "BatchOutputs", "SUMMARY_NAME", "content_hash", "read_summary"]
