"""Which films a library holds, and the stable output name each one gets.

A LIBRARY argument is one of:

* a **film** (any existing file that is not a path list, see below);
* a **folder**, searched recursively for files with a video suffix (:data:`VIDEO_SUFFIXES`,
  case-insensitive; hidden files and folders are skipped);
* a **glob** (``films/**/*.mkv``; ``**`` crosses folders), for paths that do not exist as given;
* a **text file of paths** (suffix ``.txt``, ``.list`` or ``.lst``), one per line, ``#`` comments
  and blank lines ignored, relative paths taken from the list's folder; ``-`` reads the list from
  stdin (relative paths from the working folder). Entries may themselves be folders or globs.

Films are listed once each (by resolved path), in the order found (folders and globs sorted).

Output names: ``<stem>-<8 hex>``, the hex being a hash of the film's path *relative to the root
it was found under* (the folder argument, a glob's fixed prefix, or the film's own folder for a
film named directly). So two ``intro.mp4`` in different sub-folders never collide, and the name
survives moving the whole library folder or running from another working folder. Should two
films still get one name (the same relative path under two roots), both fall back to a hash of
their absolute path. The hash is always there, so adding films never renames the others.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

import attrs

from scenedet.errors import UsageError

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mkv", ".mov", ".avi", ".webm", ".mpg", ".mpeg",
                            ".ts", ".m2ts", ".mts", ".wmv", ".flv", ".ogv", ".3gp", ".vob"})
LIST_SUFFIXES = frozenset({".txt", ".list", ".lst"})
_GLOB_CHARS = re.compile(r"[*?\[]")
_UNSAFE = re.compile(r"[^\w.+-]+")


@attrs.frozen
class LibraryFilm:
    """One film of a library: its absolute path and its output name (no suffix)."""

    path: Path
    name: str


def _name(path: Path, key: str) -> str:
    stem = _UNSAFE.sub("_", path.stem).strip("._") or "film"
    digest = hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{stem[:80]}-{digest}"


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, names in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / n for n in sorted(names)
                     if not n.startswith(".") and Path(n).suffix.lower() in VIDEO_SUFFIXES)
    return found


def _glob_root(pattern: str) -> Path:
    fixed: list[str] = []
    for part in Path(pattern).parts:
        if _GLOB_CHARS.search(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _read_list(lines: Iterable[str], base: Path) -> list[str]:
    entries = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        path = Path(os.path.expanduser(text))
        entries.append(str(path if path.is_absolute() else base / path))
    return entries


def _expand(arg: str, stdin: IO[str] | None, depth: int = 0) -> list[tuple[Path, Path]]:
    """``(film, root)`` pairs for one LIBRARY argument."""
    if arg == "-":
        if depth:
            raise UsageError("'-' (stdin) can only be given on the command line, not in a list")
        stream = stdin if stdin is not None else sys.stdin
        return [pair for entry in _read_list(stream, Path.cwd())
                for pair in _expand(entry, stdin, depth + 1)]
    path = Path(os.path.expanduser(arg))
    if path.is_dir():
        return [(film, path) for film in _walk(path)]
    if path.is_file():
        if path.suffix.lower() in LIST_SUFFIXES:
            if depth > 4:
                raise UsageError(f"{arg}: path lists nested too deep")
            try:
                text = path.read_text(encoding="utf-8", errors="surrogateescape")
            except OSError as exc:
                raise UsageError(f"cannot read {arg}: {exc.strerror or exc}") from None
            return [pair for entry in _read_list(text.splitlines(), path.parent)
                    for pair in _expand(entry, stdin, depth + 1)]
        return [(path, path.parent)]
    if _GLOB_CHARS.search(arg):
        matches = sorted(glob.glob(os.path.expanduser(arg), recursive=True))
        root = _glob_root(os.path.expanduser(arg))
        films = []
        for match in matches:
            m = Path(match)
            if m.is_dir():
                films.extend((film, m) for film in _walk(m))
            elif m.is_file() and not m.name.startswith("."):
                films.append((m, root))
        return films
    raise UsageError(f"no such film, folder or list: {arg}")


def discover(library: Sequence[str], *, stdin: IO[str] | None = None) -> list[LibraryFilm]:
    """The films ``library`` names (see the module doc), each once, with unique stable names.

    Raises :class:`~scenedet.errors.UsageError` for an argument that names nothing that exists.
    An argument that exists but holds no film (an empty folder) contributes nothing.
    """
    pairs: list[tuple[Path, Path]] = []
    seen: set[str] = set()
    for arg in library:
        for film, root in _expand(str(arg), stdin):
            absolute = Path(os.path.abspath(film))
            real = os.path.realpath(absolute)
            if real in seen:
                continue
            seen.add(real)
            pairs.append((absolute, Path(os.path.abspath(root))))
    named = [LibraryFilm(film, _name(film, os.path.relpath(film, root).replace(os.sep, "/")))
             for film, root in pairs]
    counts: dict[str, int] = {}
    for item in named:
        counts[item.name.casefold()] = counts.get(item.name.casefold(), 0) + 1
    return [item if counts[item.name.casefold()] == 1
            else LibraryFilm(item.path, _name(item.path, item.path.as_posix())) for item in named]
