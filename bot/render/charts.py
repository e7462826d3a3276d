"""Small charts as PNG (Pillow), sized for a phone screen.

Pillow rather than matplotlib: it is already here for images, and a bar chart of 14
numbers does not justify a 30 MB plotting stack.

Two shapes: ``WIDE`` (800 × 450, in chat, where Telegram shows a photo across the whole
message, and on a desktop) and ``PHONE`` (720 × 640 with type twice the size), which a
web page shows at phone width: 800 px squeezed into the 330 px a 360 px screen leaves
would shrink 18 px figures to 7 px. Axis labels that would overlap are left out, the
first one kept, so the figures never run into each other at either size.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class Shape:
    width: int
    height: int
    #: the type's size in pixels; margins follow it
    type_size: int


WIDE = Shape(800, 450, 18)
PHONE = Shape(720, 640, 36)
BACKGROUND, BAR, AXIS, TEXT = (255, 255, 255), (46, 125, 50), (120, 120, 120), (20, 20, 20)


def bar_chart(values: Sequence[int], labels: Sequence[str], top_label: str = "",
              shape: Shape = WIDE) -> bytes:
    """A PNG bar chart; ``values`` are plain integers (micros, counts), never floats.

    Only digits are drawn (day numbers, the top value); words go in the photo's caption,
    where Telegram renders every script.
    """
    image = Image.new("RGB", (shape.width, shape.height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    size = shape.type_size
    font = ImageFont.load_default(size=size)
    if top_label:
        draw.text((size * 4 // 3, size * 4 // 3), top_label, fill=TEXT, font=font)
    left, right = size * 2, shape.width - size * 4 // 3
    top, bottom = size * 4, shape.height - size * 3
    draw.line((left, bottom, right, bottom), fill=AXIS, width=max(2, size // 9))
    top_value = max(max(values, default=0), 1)
    slot = (right - left) / max(len(values), 1)
    free_from = float("-inf")  # where the next axis label may start without overlapping
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        x0 = left + i * slot + slot * 0.15
        x1 = left + (i + 1) * slot - slot * 0.15
        height = (bottom - top) * value / top_value
        if value > 0:
            draw.rectangle((x0, bottom - height, x1, bottom), fill=BAR)
        if not label:
            continue
        half = draw.textlength(label, font=font) / 2
        middle = (x0 + x1) / 2
        if middle - half >= free_from:
            draw.text((middle, bottom + size // 2), label, fill=AXIS, font=font, anchor="ma")
            free_from = middle + half + size / 2
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
