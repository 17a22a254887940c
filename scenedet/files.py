"""Output files that never destroy and never come out half-written: the one way scenedet writes.

Every result, model, feature array and generated film goes through :func:`output_file`:

* a **new path or an existing regular file** is written atomically: into a hidden temporary file
  in the same folder, flushed, then renamed over the target. A failure or an interrupt at any
  point removes the temporary file and leaves the target as it was (absent, or the old file);
* an **existing non-regular file** (a device such as ``/dev/null`` or ``/dev/stdout``, a FIFO) is
  written *into*, in place: renaming over it would replace the device node with a plain file;
* a **symlink** is written through: its target is replaced atomically (or written into, if the
  target is not a regular file), and the link itself stays a link.

Missing parent folders are created (``mkdir -p``), as ``scenedet run -o results/film.json``
users expect. Errors are :class:`~scenedet.errors.OutputError` with one line naming the path and
the reason (``Permission denied``, ``No space left on device``).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from scenedet.errors import OutputError


def _reason(exc: OSError) -> str:
    if exc.strerror:
        return exc.strerror
    return os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__


def describe_os_error(path: str | os.PathLike[str], exc: OSError, *, action: str = "cannot write") -> str:
    """``"cannot write PATH: No space left on device"``: the one-line form of an OS error."""
    return f"{action} {os.fspath(path)}: {_reason(exc)}"


def resolve_target(path: str | os.PathLike[str]) -> tuple[Path, bool]:
    """Where writing ``path`` really goes, and whether it must be written in place.

    Symlinks are followed (the link stays, its target is written). Returns ``(target, in_place)``
    where ``in_place`` is true for an existing non-regular file (device, FIFO, socket).
    """
    target = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target, False
    except NotADirectoryError:
        for folder in reversed(target.parents):
            if folder.exists() and not folder.is_dir():
                raise OutputError(f"cannot write {os.fspath(path)}: {folder} is not a folder") from None
        raise OutputError(f"cannot write {os.fspath(path)}: a part of it is not a folder") from None
    except OSError as exc:
        raise OutputError(describe_os_error(path, exc)) from None
    if stat.S_ISDIR(mode):
        raise OutputError(f"cannot write {os.fspath(path)}: it is a folder")
    return target, not stat.S_ISREG(mode)


def _make_parent(target: Path, shown: str | os.PathLike[str]) -> None:
    for folder in (target.parent, *target.parent.parents):  # a file in the way says so
        if folder.exists() or folder.is_symlink():
            if not folder.is_dir():
                raise OutputError(f"cannot write {os.fspath(shown)}: {folder} is not a folder")
            break
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(describe_os_error(target.parent, exc, action="cannot create folder")) from None
    if not target.parent.is_dir():
        raise OutputError(f"cannot write {os.fspath(shown)}: {target.parent} is not a folder")


def glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)


def check_output(path: str | os.PathLike[str]) -> None:
    """Fail now, with the :class:`OutputError` writing would give, if ``path`` cannot be written.

    For commands that work a long time before writing: a folder in the way, a file where a folder
    should be, a folder that cannot be created or written. Leaves nothing behind (a file or
    folder made to test writing is removed at once).
    """
    target, in_place = resolve_target(path)
    if in_place:
        if not os.access(target, os.W_OK):
            raise OutputError(f"cannot write {os.fspath(path)}: Permission denied")
        return
    for folder in (target.parent, *target.parent.parents):
        if folder.exists():
            if not folder.is_dir():
                raise OutputError(f"cannot write {os.fspath(path)}: {folder} is not a folder")
            try:  # the real test (root, read-only mounts, /proc): make a file there and remove it
                if folder == target.parent:
                    fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".check",
                                                 dir=folder)
                    os.close(fd)
                    os.unlink(probe)
                else:
                    os.rmdir(tempfile.mkdtemp(prefix=".scenedet-check.", dir=folder))
            except OSError as exc:
                raise OutputError(describe_os_error(path, exc)) from None
            return


class PendingOutput:
    """A temporary file beside ``path`` that :meth:`commit` renames onto it, or :meth:`abort` removes.

    For writers that fill a file over time (a memory-mapped array, a muxer): write ``tmp``, then
    commit. ``suffix`` keeps the temporary file's extension meaningful (``".mp4"`` lets a muxer
    pick its format). A non-regular target is refused (such writers seek and rename).
    """

    def __init__(self, path: str | os.PathLike[str], *, suffix: str = "") -> None:
        self.path = Path(path)
        target, in_place = resolve_target(path)
        if in_place:
            raise OutputError(f"cannot write {os.fspath(path)}: not a regular file (this output needs one)")
        _make_parent(target, path)
        self.target = target
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".partial{suffix}",
                                            dir=target.parent)
        except OSError as exc:
            raise OutputError(describe_os_error(path, exc)) from None
        os.close(fd)
        self.tmp = Path(tmp_name)

    def commit(self) -> Path:
        try:
            _keep_mode(self.target, self.tmp)
            _fsync(self.tmp)
            os.replace(self.tmp, self.target)
        except OSError as exc:
            self.abort()
            raise OutputError(describe_os_error(self.path, exc)) from None
        return self.path

    def abort(self) -> None:
        """Remove the temporary file, and any a writer derived from its name (``np.save``
        appends ``.npy``; the random part of the name makes them ours)."""
        self.tmp.unlink(missing_ok=True)
        for extra in self.tmp.parent.glob(glob_escape(self.tmp.name) + ".*"):
            extra.unlink(missing_ok=True)


@contextlib.contextmanager
def output_path(path: str | os.PathLike[str], *, suffix: str = "") -> Iterator[Path]:
    """A temporary path to write in full; when the block ends without an error it becomes ``path``.

    For writers that want a file name (``torch.save``, ``np.save``). See :class:`PendingOutput`.
    """
    pending = PendingOutput(path, suffix=suffix)
    try:
        yield pending.tmp
    except OSError as exc:
        pending.abort()
        raise OutputError(describe_os_error(path, exc)) from None
    except BaseException:
        pending.abort()
        raise
    pending.commit()


def _fsync(path: Path) -> None:
    """Flush a finished temporary file to disk, so the rename never exposes a short file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _keep_mode(target: Path, tmp: Path) -> None:
    """A replaced file keeps its permissions; a new one gets the umask's (mkstemp makes 0600)."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)


@contextlib.contextmanager
def output_file(path: str | os.PathLike[str], mode: str = "w", *,
                encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """An open file that becomes ``path`` when the block ends without an error (see module doc).

    ``mode`` is ``"w"`` (text) or ``"wb"``. Written in place for devices and FIFOs.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    enc = None if "b" in mode else encoding
    target, in_place = resolve_target(path)
    if in_place:
        try:
            with open(target, mode, encoding=enc) as fh:
                yield fh
        except OSError as exc:
            raise OutputError(describe_os_error(path, exc)) from None
        return
    with output_path(path) as tmp:
        try:
            with open(tmp, mode, encoding=enc) as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise OutputError(describe_os_error(path, exc)) from None


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` (see :func:`output_file`); returns ``path``."""
    with output_file(path, "w") as fh:
        fh.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    with output_file(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """``data`` as indented JSON plus a newline (see :func:`output_file`)."""
    return write_text(path, json.dumps(data, indent=2) + "\n")


def write_with(path: str | os.PathLike[str], writer: Callable[[Path], Any], *, suffix: str = "") -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` atomically (see :func:`output_path`)."""
    with output_path(path, suffix=suffix) as tmp:
        writer(tmp)
    return Path(path)


_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF8", "a GIF image"),
    (4, b"ftyp", "an MP4/MOV film"),
    (0, b"\x1aE\xdf\xa3", "a Matroska/WebM film"),
    (0, b"RIFF", "a RIFF file (WAV audio or AVI film)"),
    (0, b"\x93NUMPY", "a NumPy .npy array"),
    (0, b"%PDF", "a PDF document"),
    (0, b"\x1f\x8b", "a gzip archive"),
)


def describe_file(path: str | os.PathLike[str]) -> str:
    """What a file is, by its first bytes, for errors about a file that is not what was expected:
    ``"an empty file"``, ``"a PNG image"``, ``"a PyTorch file cut short or damaged"``..."""
    import zipfile

    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        return f"unreadable ({_reason(exc)})"
    if not head:
        return "an empty file"
    if head.startswith(b"PK\x03\x04"):  # torch.save's format is a ZIP archive
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return "a ZIP archive (PyTorch's format) cut short or damaged"
        if any(n.endswith("data.pkl") for n in names):
            return "a PyTorch file with damaged contents"
        return "a ZIP archive that is not a PyTorch file"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "an old-format PyTorch/pickle file, damaged or not a state dict"
    for offset, magic, kind in _MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return kind
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data of an unknown kind"
    return "a JSON text file" if text.lstrip()[:1] in ("{", "[") else "a text file"


def read_input_text(path: str | os.PathLike[str], *, what: str = "file",
                    encoding: str = "utf-8-sig") -> str:
    """The text of an input file, or one :class:`~scenedet.errors.UsageError` line saying why not.

    ``what`` names the file for a person (``"annotation file"``); a BOM is dropped.
    """
    from scenedet.errors import UsageError

    try:
        return Path(path).read_text(encoding=encoding)
    except FileNotFoundError:
        raise UsageError(f"{what} not found: {os.fspath(path)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {what} {os.fspath(path)}: {exc}") from None
