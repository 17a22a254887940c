"""What a batch has done: ``OUTDIR/summary.jsonl`` and the rule that decides what to skip.

Two things record progress, and neither can be half-written:

* each film's result, ``OUTDIR/<name>.json``, written atomically (:mod:`scenedet.files`) and
  carrying a ``"batch"`` block: the film's content hash, the model file's hash and the settings.
  This file is the truth: a film is **done** when its result parses, has scores, its block
  matches the film, model and settings of this run, and every other output asked for
  (:mod:`scenedet.batch.outputs`) is recorded in the block and exists (:func:`result_status`);
  the result is written after those outputs, so its presence vouches for them;
* ``OUTDIR/summary.jsonl``, an append-only log: one JSON line per finished film attempt (path,
  content hash, status, seconds, scenes, wall time, error; with ``profile``, the film's stage
  times, :mod:`scenedet.batch.profiles`), each line flushed and fsynced
  before the next film is reported. After ``kill -9`` its last line may be torn: readers ignore
  a line that does not parse, and :class:`SummaryLog` cuts a torn tail before appending.

A film that failed is retried on the next run, so the log can hold several lines for one film:
the **last line per film is its state** (:func:`read_summary`). A film whose result was written
but whose line was lost to a kill gets its line on the next run (status ``"done"``, wall time
null), so every film done has exactly one line saying so.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from scenedet.errors import OutputError
from scenedet.files import describe_os_error

SUMMARY_NAME = "summary.jsonl"
_SAMPLE = 1 << 20  # bytes read at each of the start, middle and end of a film


def content_hash(path: str | os.PathLike[str]) -> str:
    """A fingerprint of a film's bytes: sha256 of its size and three 1 MiB samples (whole file if small).

    Reading all of a 12 GB film to fingerprint it would cost more than scanning it; a re-encode,
    a truncation or a replaced file changes the size or the sampled bytes. (A byte edited in the
    middle of an unchanged-size file can go unseen: delete the film's result to force a redo.)
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        digest.update(f"size:{size};".encode())
        if size <= 3 * _SAMPLE:
            for chunk in iter(lambda: fh.read(_SAMPLE), b""):
                digest.update(chunk)
        else:
            for offset in (0, (size - _SAMPLE) // 2, size - _SAMPLE):
                fh.seek(offset)
                digest.update(fh.read(_SAMPLE))
    return "s256:" + digest.hexdigest()[:32]


def file_hash(path: str | os.PathLike[str]) -> str:
    """sha256 of a whole file (a model file: small next to the films it scores)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def batch_block(film_hash: str, model_hash: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The ``"batch"`` block of a result file: what it was made from (the driver adds
    ``"outputs"``, the names of the other outputs written with it)."""
    return {"film_hash": film_hash, "model_hash": model_hash, "settings": dict(settings)}


OUTPUTS_MISSING = "outputs missing"


def changed_settings(path: Path, expected: Mapping[str, Any]) -> list[str]:
    """The names of the settings in which the result at ``path`` differs from ``expected`` (a
    batch block's ``"settings"``), sorted; ``[]`` when it cannot be read. What a batch says in
    one line when a rerun with other settings is about to score finished films again."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        recorded = data["batch"]["settings"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    if not isinstance(recorded, dict):
        return []
    return sorted(k for k in set(recorded) | set(expected) if recorded.get(k) != expected.get(k))


def missing_outputs(data: Any, outputs: Mapping[str, Path]) -> list[str]:
    """The names of ``outputs`` (name -> path) that a parsed result does not record or that are
    not on disk: a film is complete only with every output asked for. A folder of per-scene
    files (clips, stills) recorded for a result without any segment is complete as it is:
    there was nothing to put in it."""
    block = data.get("batch") if isinstance(data, dict) else None
    recorded = block.get("outputs") if isinstance(block, dict) else None
    recorded = set(recorded) if isinstance(recorded, list) else set()
    empty = _segment_counts(data)
    missing = []
    for name, path in outputs.items():
        if name not in recorded:
            missing.append(name)
        elif not path.exists():
            plugin, sep, kind = name.rpartition(":")
            folder = kind.startswith(("clips", "stills"))
            if not (folder and empty.get(plugin if sep else "", 1) == 0):
                missing.append(name)
    return missing


def _segment_counts(data: Any) -> dict[str, int]:
    """Segments per plugin of a result ("" for a one-plugin result; names for a run's)."""
    if not isinstance(data, dict):
        return {}
    results = data.get("results")
    if isinstance(results, list):
        counts = {}
        for r in results:
            if isinstance(r, dict) and isinstance(r.get("segments"), list):
                counts[str(r.get("scene", ""))] = len(r["segments"])
        counts[""] = sum(counts.values())
        return counts
    segments = data.get("segments")
    return {"": len(segments)} if isinstance(segments, list) else {}


def is_result(data: Any) -> bool:
    """Whether parsed JSON is a result a batch wrote: a plugin's document (``segments``) or a
    run document of several (``results``, each with ``segments``), with a ``batch`` block."""
    if not isinstance(data, dict) or not isinstance(data.get("batch"), dict):
        return False
    results = data.get("results")
    if isinstance(results, list):
        return bool(results) and all(isinstance(r, dict) and isinstance(r.get("segments"), list)
                                     for r in results)
    return isinstance(data.get("segments"), list)


def result_status(path: Path, expected: Mapping[str, Any],
                  outputs: Mapping[str, Path] | None = None) -> str:
    """``"done"`` if ``path`` holds a complete result made from ``expected`` (a batch block) and
    every output of ``outputs`` (name -> path, see :mod:`scenedet.batch.outputs`) was written
    with it, else why not: ``"new"``, ``"unreadable result"``, ``"film changed"``, ``"model
    changed"``, ``"settings changed"``, ``"outputs missing: NAME, ..."`` (the result is
    current: the driver completes the outputs from it, without the models)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "new"
    except (OSError, ValueError):
        return "unreadable result"
    if not is_result(data):
        return "unreadable result"
    block = data["batch"]
    if block.get("film_hash") != expected["film_hash"]:
        return "film changed"
    if block.get("model_hash") != expected["model_hash"]:
        return "model changed"
    if block.get("settings") != expected["settings"]:
        return "settings changed"
    missing = missing_outputs(data, outputs or {})
    if missing:
        return f"{OUTPUTS_MISSING}: {', '.join(missing)}"
    return "done"


def iter_summary(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every record of a summary log that parses (a torn or foreign line is skipped)."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return
    with fh:
        for raw in fh:
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict) and "path" in record:
                yield record


def read_summary(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The last record per film path: each film's current state."""
    return {record["path"]: record for record in iter_summary(path)}


class SummaryLog:
    """Appends records to ``summary.jsonl``, each one flushed and fsynced before returning."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab+")
            self._cut_torn_tail()
        except OSError as exc:
            raise OutputError(describe_os_error(self.path, exc)) from None

    def _cut_torn_tail(self) -> None:
        """A line cut by ``kill -9`` (no final newline) is removed, so appends start on a line."""
        size = self._fh.seek(0, os.SEEK_END)
        if size == 0:
            return
        self._fh.seek(size - 1)
        if self._fh.read(1) == b"\n":
            return
        keep = size
        step = 1 << 16
        while keep > 0:  # find the last newline, reading backwards
            start = max(0, keep - step)
            self._fh.seek(start)
            chunk = self._fh.read(keep - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                break
            keep = start
        self._fh.truncate(keep)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(dict(record), sort_keys=True, ensure_ascii=False) + "\n"
        try:
            self._fh.seek(0, os.SEEK_END)
            self._fh.write(line.encode("utf-8", "surrogateescape"))
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            raise OutputError(describe_os_error(self.path, exc)) from None

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> SummaryLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OutdirLock:
    """An exclusive lock on OUTDIR for one batch (``flock``: released by the kernel even after
    ``kill -9``), so two batches never interleave results or summary lines. On entry it also
    removes temporary files a killed batch left (``.NAME.*.partial``, see :mod:`scenedet.files`)."""

    NAME = ".scenedet-batch.lock"

    def __init__(self, outdir: str | os.PathLike[str]) -> None:
        self.outdir = Path(outdir)
        self._fh: Any = None

    def __enter__(self) -> OutdirLock:
        import fcntl

        path = self.outdir / self.NAME
        try:
            self.outdir.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "a")
        except OSError as exc:
            raise OutputError(describe_os_error(path, exc)) from None
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.close()
            raise OutputError(f"another scenedet batch is writing {self.outdir} "
                              f"(wait for it, or stop it)") from None
        for pattern in (".*.partial*", "*/.*.partial*"):  # results, and clips/stills folders
            for stale in self.outdir.glob(pattern):
                if stale.is_file():
                    stale.unlink(missing_ok=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()
