"""Output files never destroy what is not a regular file, never come out half-written, and fail
as one line (scenedet.files, and every command's -o through it)."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from scenedet import files
from scenedet.errors import OutputError

TIMEOUT = 120


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name)


def _device(tmp_path: Path, name: str, major: int, minor: int) -> Path:
    """A private character device node (the machine's own are never touched)."""
    path = tmp_path / name
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    return path


def _read_fifo(path: Path, sink: list[bytes]) -> threading.Thread:
    def reader() -> None:
        with open(path, "rb") as fh:
            sink.append(fh.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    return thread


# -- the helper itself -------------------------------------------------------------------------


def test_a_new_file_is_written_whole(tmp_path):
    out = files.write_json(tmp_path / "a" / "b" / "r.json", {"x": 1})  # missing folders created
    assert json.loads(out.read_text()) == {"x": 1}
    assert _leftovers(out.parent) == []


def test_an_existing_file_is_replaced_atomically_and_keeps_its_mode(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")
    target.chmod(0o640)
    inode = target.stat().st_ino
    files.write_text(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_ino != inode  # renamed over, not rewritten in place


def test_a_failure_while_writing_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with files.output_file(target) as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_an_interrupt_while_writing_leaves_no_temporary(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with files.output_path(tmp_path / "f.npy") as tmp:
            np.save(tmp, np.zeros(10))
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    files.write_text(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "sub" / "real.json")
    files.write_text(link, "new")
    assert link.is_symlink() and (tmp_path / "sub" / "real.json").read_text() == "new"


def test_a_fifo_is_written_into_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _read_fifo(fifo, got)
    files.write_text(fifo, "hello\n")
    reader.join(10)
    assert got == [b"hello\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_device_node_is_written_into_not_replaced(tmp_path):
    null = _device(tmp_path, "null", 1, 3)  # a private /dev/null
    files.write_json(null, {"x": 1})
    assert stat.S_ISCHR(os.stat(null).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_a_full_device_is_one_line_and_stays_a_device(tmp_path):
    full = _device(tmp_path, "full", 1, 7)  # a private /dev/full
    with pytest.raises(OutputError, match=r"^cannot write .*full: No space left on device$"):
        files.write_json(full, {"x": 1})
    assert stat.S_ISCHR(os.stat(full).st_mode)


def test_a_memory_mapped_output_refuses_a_device_in_one_line(tmp_path):
    from scenedet.inference.features import NpyStream

    null = _device(tmp_path, "null.npy", 1, 3)
    with pytest.raises(OutputError, match="not a regular file"):
        NpyStream(null, 3)
    assert stat.S_ISCHR(os.stat(null).st_mode)


@pytest.mark.parametrize("case", ["folder-in-the-way", "file-in-the-way", "missing-proc-folder"])
def test_unwritable_paths_are_one_line_naming_the_path(tmp_path, case):
    if case == "folder-in-the-way":
        (tmp_path / "out.json").mkdir()
        path, reason = tmp_path / "out.json", "it is a folder"
    elif case == "file-in-the-way":
        (tmp_path / "notdir").write_text("x")
        path, reason = tmp_path / "notdir" / "sub" / "out.json", "is not a folder"
    else:
        path, reason = Path("/proc/scenedet-missing/out.json"), "cannot"
    with pytest.raises(OutputError) as info:
        files.write_json(path, {})
    message = str(info.value)
    assert "\n" not in message and reason in message
    assert str(path) in message or str(path.parent) in message
    with pytest.raises(OutputError):
        files.check_output(path) if case != "missing-proc-folder" else files.write_text(path, "")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_a_read_only_folder_is_one_line(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="Permission denied"):
            files.write_json(folder / "out.json", {})
        with pytest.raises(OutputError, match="Permission denied"):
            files.check_output(folder / "out.json")
    finally:
        folder.chmod(0o700)


def test_describe_file_says_what_a_file_is(tmp_path):
    (tmp_path / "e").write_bytes(b"")
    (tmp_path / "t").write_text("hello")
    (tmp_path / "p").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    (tmp_path / "z").write_bytes(b"PK\x03\x04" + bytes(50))
    assert files.describe_file(tmp_path / "e") == "an empty file"
    assert files.describe_file(tmp_path / "t") == "a text file"
    assert files.describe_file(tmp_path / "p") == "a PNG image"
    assert "cut short" in files.describe_file(tmp_path / "z")


# -- the commands --------------------------------------------------------------------------------


def _scenedet(*args: str, stdout=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scenedet", *args], stdout=stdout or subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=TIMEOUT, **kw)


def test_segment_output_to_a_device_node_writes_into_it(tmp_path):
    from click.testing import CliRunner

    from scenedet.cli import cli

    null = _device(tmp_path, "null", 1, 3)
    scores = tmp_path / "s.txt"
    scores.write_text("1\n1\n1\n0\n")
    result = CliRunner().invoke(cli, ["segment", "-l", "2", str(scores), "-o", str(null)])
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat(null).st_mode)


def test_segment_output_to_a_full_device_is_one_line_exit_1(tmp_path):
    full = _device(tmp_path, "full", 1, 7)
    scores = tmp_path / "s.txt"
    scores.write_text("1\n1\n1\n0\n")
    proc = _scenedet("segment", "-l", "2", str(scores), "-o", str(full))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"Error: cannot write {full}: No space left on device"]
    assert stat.S_ISCHR(os.stat(full).st_mode)


def test_segment_output_through_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _read_fifo(fifo, got)
    scores = tmp_path / "s.txt"
    scores.write_text("1\n1\n1\n0\n")
    proc = _scenedet("segment", "-l", "2", str(scores), "-o", str(fifo))
    reader.join(TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(got[0]) == {"segments": [{"start": 0, "end": 3, "score": None}]}


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_stdout_on_a_full_device_is_one_line_exit_1():
    with open("/dev/full", "w") as full:
        proc = _scenedet("plugins", stdout=full)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["Error: cannot write standard output: No space left on device"]


def test_stdout_closed_early_is_quiet_exit_0():
    """`scenedet plugins | head -1`: the reader goes away; that is not a failure."""
    proc = subprocess.Popen([sys.executable, "-m", "scenedet", "plugins"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()  # like head -1 exiting
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0
    assert err == b""


def test_a_missing_output_folder_is_created_by_the_command(tmp_path):
    scores = tmp_path / "s.txt"
    scores.write_text("1\n1\n1\n0\n")
    out = tmp_path / "new" / "deeper" / "scenes.json"
    proc = _scenedet("segment", "-l", "2", str(scores), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["segments"]


@pytest.mark.parametrize("command", ["run", "segment", "features", "train"])
def test_help_says_missing_output_folders_are_created(command):
    from click.testing import CliRunner

    from scenedet.cli import cli

    text = " ".join(CliRunner().invoke(cli, [command, "--help"]).output.split())
    assert "Missing folders are created" in text


def test_write_errors_are_errno_reasons():
    exc = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert files.describe_os_error("/x", exc) == "cannot write /x: No space left on device"
