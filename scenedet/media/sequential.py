"""The "sequential" decode strategy: decode straight through, keep the frames each second shows.

Frame threading decodes every frame; only the frames that are kept are converted to RGB. See
:mod:`scenedet.media.decode` for when this strategy is chosen.
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


class StartedTooLate(Exception):
    """The first clip after a seek is short of frames that exist: seek further back."""


def sequential_windows(packets: Iterable[av.Packet], decoder: av.CodecContext, clock: Clock,
                       info: FilmInfo, n_frames: int, start: int, stop: int, *, sought: bool
                       ) -> Iterator[tuple[np.ndarray, ...]]:
    """Decode straight through; after each second's end, hand out the window of last frames.

    ``sought``: decoding starts from a seek, so the first window may lack frames that precede
    the keyframe sought to (a clip reaching back further than the average frame rate says);
    then :class:`StartedTooLate` asks for an earlier start.
    """
    window: deque[Held] = deque(maxlen=n_frames)
    k = start
    last: Held | None = None
    first: Held | None = None
    for held in decode_video(packets, decoder, clock):
        first = first or held
        while held.pts > clock.end_pts(k):
            if (k == start and sought and len(window) < n_frames
                    and (first is None or first.pts > clock.start_pts)):
                raise StartedTooLate
            yield window_arrays(window, info)
            k += 1
            if k >= stop:
                return
        window.append(held)
        last = held
    check_complete(info, clock, last)
    while True:
        yield window_arrays(window, info)

