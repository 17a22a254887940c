"""The "sequential" decode strategy: decode straight through, keep the frames each second shows.

Frame threading decodes the frames (all of them, or all but the non-reference frames no second
shows: :mod:`scenedet.media.nonref`); only the frames that are kept are converted to RGB. See
:mod:`scenedet.media.seconds.decode` for when this strategy is chosen.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from scenedet.media.probe import FilmInfo
from scenedet.media.videoframes import Clock, Held, check_complete, decode_video, window_arrays

if TYPE_CHECKING:
    import av

    from scenedet.media.nonref import NonrefSkip


class StartedTooLate(Exception):
    """The first clip after a seek is short of frames that exist: seek further back."""


def sequential_windows(packets: Iterable[av.Packet], decoder: av.CodecContext, clock: Clock,
                       info: FilmInfo, n_frames: int, start: int, stop: int, *, sought: bool,
                       skip: NonrefSkip | None = None) -> Iterator[tuple[np.ndarray, ...]]:
    """Decode straight through; after each second's end, hand out the window of last frames.

    ``sought``: decoding starts from a seek, so the first window may lack frames that precede
    the keyframe sought to (a clip reaching back further than the average frame rate says);
    then :class:`StartedTooLate` asks for an earlier start. ``skip``: leave the non-reference
    frames no window shows undecoded (:mod:`scenedet.media.nonref`); it raises
    :class:`~scenedet.media.nonref.SkipUnsafe` before handing out a window it cannot vouch for.
    """
    window: deque[Held] = deque(maxlen=n_frames)
    k = start
    last: Held | None = None
    first: Held | None = None
    for held in decode_video(packets, decoder, clock, skip):
        first = first or held
        while held.pts > clock.end_pts(k):
            if (k == start and sought and len(window) < n_frames
                    and (first is None or first.pts > clock.start_pts)):
                raise StartedTooLate
            if skip is not None:
                skip.check_window(window, clock.end_pts(k))
            yield window_arrays(window, info)
            k += 1
            if k >= stop:
                return
        window.append(held)
        last = held
    check_complete(info, clock, last)
    if skip is not None:
        skip.check_window(window, None)
    while True:
        yield window_arrays(window, info)
