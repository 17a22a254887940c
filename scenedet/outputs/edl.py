"""CMX 3600 edit decision lists: the scene list as an editor imports it.

One event per scene, source in/out = record in/out = the scene's timecodes in the film, so the
events sit where the scenes are in the film. ``FCM: DROP FRAME`` and ``;`` timecodes at 29.97 and
59.94 fps, ``NON-DROP FRAME`` otherwise. The reel is ``AX`` (an auxiliary source, the usual
reel for a file) and ``* FROM CLIP NAME`` names the film, which is how editors relink it.
"""

from __future__ import annotations

from scenedet.outputs.document import SceneList

REEL = "AX"


def to_edl(scenes: SceneList) -> str:
    title = f"{scenes.name} {scenes.scene} scenes"[:70]
    fcm = "DROP FRAME" if scenes.frame_rate.drop_frame else "NON-DROP FRAME"
    lines = [f"TITLE: {title}", f"FCM: {fcm}", ""]
    for s in scenes.scenes:
        if s.index > 999:
            break  # CMX 3600 numbers events with three digits
        tc = f"{s.start_timecode} {s.end_timecode}"
        lines.append(f"{s.index:03d}  {REEL:<8} V     C        {tc} {tc}")
        lines.append(f"* FROM CLIP NAME: {scenes.name}")
        score = "" if s.score is None else f", score {s.score:.2f}"
        lines.append(f"* COMMENT: {scenes.scene} {s.index}{score}")
        lines.append("")
    return "\n".join(lines)
