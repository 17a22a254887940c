"""The conversion cache: ``SCENEDET_HOME/runtimes/<name>-<hash>-<runtime>-<version>/``.

``<hash>`` covers the caller's ``weights_id``, the torch version (the exporter, read from its
metadata: nothing here imports torch) and the input's
dtype and shape past the batch; ``<version>`` is the runtime's. An entry is a folder of files
plus ``manifest.json`` (each file's size and SHA-256), written last: it is built in a temporary
folder beside it and renamed into place, so a reader sees a whole entry or none. A lock file
(``<entry>.lock``, ``fcntl.flock``) is held while an entry is checked, built and loaded: a
second process converting the same network waits for the first and then reuses its files. An
entry whose manifest is missing, unreadable or does not match its files is :class:`Damaged`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from scenedet.paths import scenedet_home

MANIFEST = "manifest.json"
#: Bumped when what an entry holds changes, so old entries are not read.
FORMAT = 1


class Damaged(Exception):
    """A cache entry that cannot be trusted (the message says why)."""


def runtimes_dir() -> Path:
    return scenedet_home() / "runtimes"


def entry_dir(name: str, weights_id: str, runtime: str, version: str, signature: str) -> Path:
    """The entry's folder (not created). ``signature``: what else the conversion depends on."""
    digest = hashlib.sha256(f"{FORMAT}\0{weights_id}\0{_torch_version()}\0{signature}".encode())
    safe = re.sub(r"[^A-Za-z0-9_.]+", "_", name).strip("_") or "network"
    version = re.sub(r"[^A-Za-z0-9_.]+", "_", version)
    return runtimes_dir() / f"{safe}-{digest.hexdigest()[:16]}-{runtime}-{version}"


def _torch_version() -> str:
    """The installed torch's version, read from its metadata: a cached network loads without
    importing torch."""
    import importlib.metadata

    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return "none"


@contextlib.contextmanager
def locked(entry: Path) -> Iterator[None]:
    """Hold ``<entry>.lock`` exclusively (waits for another process holding it)."""
    import fcntl

    entry.parent.mkdir(parents=True, exist_ok=True)
    with open(entry.parent / f"{entry.name}.lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_entry(entry: Path) -> dict | None:
    """The entry's manifest, its files checked; ``None`` when there is no entry.
    :class:`Damaged` when it is there but incomplete, unreadable or altered."""
    if not entry.exists():
        return None
    try:
        manifest = json.loads((entry / MANIFEST).read_text())
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Damaged(f"{entry / MANIFEST}: {exc}") from None
    for name, want in files.items():
        path = entry / name
        try:
            size = path.stat().st_size
            if size != want["size"] or _sha256(path) != want["sha256"]:
                raise Damaged(f"{path}: {size} bytes, not the {want['size']} written, or altered")
        except OSError as exc:
            raise Damaged(f"{path}: {exc}") from None
    return manifest


def write_entry(entry: Path, build: Callable[[Path], Any], **info) -> dict:
    """Build an entry: ``build(folder)`` writes its files there and returns their names (or
    the names and a dict to add to the manifest); the manifest (with ``info``) is written last and the folder renamed to ``entry`` (replacing a
    damaged one). Call it holding :func:`locked`."""
    tmp = entry.parent / f".{entry.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        built = build(tmp)
        names, more = built if isinstance(built, tuple) else (built, {})
        files = {}
        for name in names:
            path = tmp / name
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
            files[name] = {"size": path.stat().st_size, "sha256": _sha256(path)}
        manifest = {"format": FORMAT, "files": files, **info, **more}
        with open(tmp / MANIFEST, "w") as fh:
            json.dump(manifest, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        if entry.exists():
            shutil.rmtree(entry)
        os.rename(tmp, entry)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
