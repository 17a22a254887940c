"""glibc malloc settings that keep RSS flat while a film streams through the decode thread.

Why: glibc serves a large ``malloc`` with its own ``mmap`` (returned to the system on ``free``)
only while the size is above a *dynamic* threshold, and the first ``free`` of such a chunk
raises the threshold to that chunk's size (up to 32 MiB). After the first few seconds of a film
the decode thread's RGB stills (2.7 MB at 720p, 6.2 MB at 1080p), its audio buffers and the
batches of preprocessed inputs all come from malloc's heaps instead -- and the decode thread
has its own arena, so they interleave there with long-lived small objects, and the freed space
between them is neither reused exactly nor trimmed: RSS creeps up by hundreds of MB over a
10-minute 720p film (measured in ``docs/performance.md``). A fixed threshold keeps every large
buffer in its own mapping, given back at once, and turns the dynamic raise off.

Process-wide and idempotent; :func:`scenedet.inference.pipeline.score_film` applies it. A no-op
off glibc (musl, macOS, Windows) and when ``SCENEDET_MALLOC_TUNING=off``.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: ``mallopt`` parameter numbers (glibc's ``malloc.h``).
M_MMAP_THRESHOLD = -3
#: Blocks at least this large get their own mapping. Below a 224x224 input still (600 kB as
#: float32) so that batches and stills are all mmapped; far above the small objects.
MMAP_THRESHOLD = 256 * 1024
_state: dict[str, bool] = {}


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc only (musl has no such symbol)
        return libc
    except (OSError, AttributeError):
        return None


def tune_allocator() -> bool:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD`; whether the setting is in force.

    Called once per process (later calls return the first answer). ``False`` off glibc, when
    ``SCENEDET_MALLOC_TUNING`` is ``off``/``0``/``no``, or when ``mallopt`` refuses.
    """
    if "applied" not in _state:
        _state["applied"] = _apply()
    return _state["applied"]


def _apply() -> bool:
    if os.environ.get("SCENEDET_MALLOC_TUNING", "").strip().lower() in ("off", "0", "no", "false"):
        return False
    libc = _glibc()
    if libc is None:
        return False
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def mallinfo2() -> dict[str, int]:
    """glibc's ``mallinfo2()`` (bytes; ``hblks``/``hblkhd``: mmapped chunks), ``{}`` off glibc.

    For diagnosis (``benchmarks/memory.py`` records it): ``arena`` and ``fordblks`` cover the
    main arena only, so a thread's arena shows in RSS but not here.
    """
    libc = _glibc()
    fn = getattr(libc, "mallinfo2", None) if libc is not None else None
    if fn is None:  # glibc < 2.33
        return {}
    fn.restype = _Mallinfo2
    info = fn()
    return {name: int(getattr(info, name)) for name, _ in _Mallinfo2._fields_}
