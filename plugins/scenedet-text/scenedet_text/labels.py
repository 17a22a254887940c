"""Text events -> labelled segments: what the text is doing.

* ``credits``: a roll (an event whose boxes moved up between most samples), a dense card (at
  least ``DENSE_LINES`` lines for ``DENSE_SECONDS``), or ``CARD_RUN`` or more cards one after
  another (gaps of at most ``CARD_GAP`` s, none of them subtitles); rolls and cards next to each
  other are one segment;
* ``subtitles``: one or two lines in the bottom band, recurring (another such event within
  ``RECUR_SECONDS``); each appearance is its own segment, as in a subtitle file;
* ``title``: a lone card of at most ``TITLE_LINES`` lines, at most ``TITLE_SECONDS`` long;
* ``text``: anything else (a sign, a lone caption, a long lower third).

The rules read the geometry only (no recognition): what they cannot tell apart is in
docs/detectors.md.
"""

from __future__ import annotations

from scenedet.plugin import FrameSegment
from scenedet_text.tracking import Event

DENSE_LINES = 6
DENSE_SECONDS = 3.0
CARD_RUN = 3
CARD_GAP = 2.5
CARD_LINES = 2
TAIL_SECONDS = 2.0
CARD_HEIGHT_RATIO = 1.5
RECUR_SECONDS = 20.0
TITLE_LINES = 4
TITLE_SECONDS = 15.0
SUBTITLE_LINES = 2


def _subtitle_like(e: Event) -> bool:
    return e.in_bottom_band and e.max_lines <= SUBTITLE_LINES and not e.rolling


def label_events(events: list[Event]) -> list[tuple[FrameSegment, list[Event]]]:
    """Segments in time order, each with the events it covers."""
    kinds = _kinds(events)
    out: list[tuple[FrameSegment, list[Event]]] = []
    group: list[Event] = []
    for e, kind in zip(events, kinds):
        if group and e.start - group[-1].end <= CARD_GAP and (kind == "credits" or _tail(group, e)):
            group.append(e)
            continue
        if group:
            out.append(_segment(group, "credits"))
            group = []
        if kind == "credits":
            group = [e]
        else:
            out.append(_segment([e], kind))
    if group:
        out.append(_segment(group, "credits"))
    return out


def _kinds(events: list[Event]) -> list[str]:
    subtitle = [_subtitle_like(e) for e in events]
    kinds = []
    for i, e in enumerate(events):
        if e.rolling or (e.max_lines >= DENSE_LINES and e.duration >= DENSE_SECONDS):
            kinds.append("credits")
        elif subtitle[i] and any(subtitle[j] and j != i and _gap(events[i], events[j]) <= RECUR_SECONDS
                                 for j in range(max(0, i - 3), min(len(events), i + 4))):
            kinds.append("subtitles")
        else:
            kinds.append("")
    # a roll's first lines, lost by the tracking while they came in at the bottom
    roll = None
    for i in range(len(events) - 1, 0, -1):
        if kinds[i] == "credits" and events[i].rolling:
            roll = events[i]
        if roll is not None and kinds[i] == "credits" and _head(events[i - 1], events[i]):
            kinds[i - 1] = "credits"
        elif kinds[i] != "credits":
            roll = None
    # runs of cards one after another
    i = 0
    while i < len(events):
        j = i
        while j + 1 < len(events) and _next_card(events[j], events[j + 1], kinds[j], kinds[j + 1]):
            j += 1
        if j - i + 1 >= CARD_RUN and all(kinds[k] in ("", "credits") for k in range(i, j + 1)):
            for k in range(i, j + 1):
                kinds[k] = "credits"
        i = j + 1
    for i, e in enumerate(events):
        if not kinds[i]:
            short = e.max_lines <= TITLE_LINES and e.duration <= TITLE_SECONDS
            kinds[i] = "title" if short and not _subtitle_like(e) else "text"
    return kinds


def _next_card(a: Event, b: Event, kind_a: str, kind_b: str) -> bool:
    """``b`` follows ``a`` as the next card of one sequence: close in time, neither subtitles,
    both of several lines in type of about one size (a title's large type is not a credit's)."""
    return (kind_a in ("", "credits") and kind_b in ("", "credits")
            and b.start - a.end <= CARD_GAP and min(a.max_lines, b.max_lines) >= CARD_LINES
            and max(a.height, b.height) <= CARD_HEIGHT_RATIO * min(a.height, b.height))


def _tail(group: list[Event], e: Event) -> bool:
    """``e`` is the last line or two of a roll that the tracking lost as it left the picture."""
    last = group[-1]
    return (last.rolling and e.max_lines <= 2 and e.duration <= TAIL_SECONDS
            and max(last.height, e.height) <= CARD_HEIGHT_RATIO * min(last.height, e.height))


def _head(e: Event, after: Event) -> bool:
    """``e`` is a line or two coming in at the bottom just before a roll (or its head): lines
    only partly in the picture, too low to match the next sample's."""
    return (after.start - e.end <= 1.0 and e.max_lines <= 2 and e.duration <= TAIL_SECONDS
            and e.in_bottom_band)


def _gap(a: Event, b: Event) -> float:
    return max(b.start - a.end, a.start - b.end, 0.0)


def _segment(events: list[Event], label: str) -> tuple[FrameSegment, list[Event]]:
    weight = sum(e.samples for e in events) or 1
    score = sum(e.score * e.samples for e in events) / weight
    start = min(events, key=lambda e: e.start)
    end = max(events, key=lambda e: e.end)
    return (FrameSegment(start=start.start, end=end.end, start_frame=start.start_frame,
                         end_frame=end.end_frame, score=round(min(1.0, max(0.0, score)), 6),
                         label=label), events)
