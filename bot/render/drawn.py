"""The right answer drawn over the picture, for a worker who missed a gold check on a
boxes or points task: the right boxes (or points) in green, theirs in red, dashed.

A sentence cannot say where a box should have been; a picture can. Pillow only, bytes in
and out (shapes as plain tuples in normalised coordinates), so it runs on a worker
thread and is tested on its pixels.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw

RIGHT = (22, 163, 74)
THEIRS = (220, 38, 38)
HALO = (255, 255, 255)
#: the longest side of the picture sent back (it was at most 1280 at import)
LONGEST = 1280

#: a box: (x0, y0, x1, y1); a point: (x, y); all 0..1 across the picture
Shape = tuple[float, ...]


def _dashed_rect(draw: ImageDraw.ImageDraw, box: Sequence[float], colour: tuple[int, ...],
                 width: int, dash: int) -> None:
    x0, y0, x1, y1 = box
    for a, b, horizontal in (((x0, y0), (x1, y0), True), ((x0, y1), (x1, y1), True),
                             ((x0, y0), (x0, y1), False), ((x1, y0), (x1, y1), False)):
        start, end = (a[0], b[0]) if horizontal else (a[1], b[1])
        pos = start
        while pos < end:
            stop = min(pos + dash, end)
            line = ((pos, a[1]), (stop, a[1])) if horizontal else ((a[0], pos), (a[0], stop))
            draw.line(line, fill=colour, width=width)
            pos += 2 * dash


def draw_answer(picture: bytes, right: Sequence[Shape], theirs: Sequence[Shape] = ()
                ) -> bytes:
    """A JPEG of ``picture`` with the ``right`` shapes solid green and ``theirs`` dashed
    red (boxes of four numbers, points of two)."""
    with Image.open(io.BytesIO(picture)) as opened:
        image = opened.convert("RGB")
    image.thumbnail((LONGEST, LONGEST))
    w, h = image.size
    width = max(3, round(max(w, h) / 250))
    draw = ImageDraw.Draw(image)
    for shapes, colour, dashed in ((theirs, THEIRS, True), (right, RIGHT, False)):
        for shape in shapes:
            if len(shape) == 4:
                box = (shape[0] * w, shape[1] * h, shape[2] * w, shape[3] * h)
                if dashed:
                    _dashed_rect(draw, box, colour, width, width * 4)
                else:
                    draw.rectangle(box, outline=HALO, width=width + 2)
                    draw.rectangle(box, outline=colour, width=width)
            else:
                r = width * 3
                x, y = shape[0] * w, shape[1] * h
                draw.ellipse((x - r - 2, y - r - 2, x + r + 2, y + r + 2), fill=HALO)
                draw.ellipse((x - r, y - r, x + r, y + r),
                             fill=None if dashed else colour, outline=colour, width=width)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
