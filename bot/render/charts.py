"""Small charts as PNG (Pillow), sized for a phone screen.

Pillow rather than matplotlib: it is already here for images, and a bar chart of 14
numbers does not justify a 30 MB plotting stack.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 800, 450
BACKGROUND, BAR, AXIS, TEXT = (255, 255, 255), (46, 125, 50), (120, 120, 120), (20, 20, 20)


def bar_chart(values: Sequence[int], labels: Sequence[str], top_label: str = "") -> bytes:
    """A PNG bar chart; ``values`` are plain integers (micros, counts), never floats.

    Only digits are drawn (day numbers, the top value); words go in the photo's caption,
    where Telegram renders every script.
    """
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    small = ImageFont.load_default(size=18)
    if top_label:
        draw.text((24, 24), top_label, fill=TEXT, font=small)
    left, right, top, bottom = 40, WIDTH - 24, 70, HEIGHT - 50
    draw.line((left, bottom, right, bottom), fill=AXIS, width=2)
    top_value = max(max(values, default=0), 1)
    slot = (right - left) / max(len(values), 1)
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        x0 = left + i * slot + slot * 0.15
        x1 = left + (i + 1) * slot - slot * 0.15
        height = (bottom - top) * value / top_value
        if value > 0:
            draw.rectangle((x0, bottom - height, x1, bottom), fill=BAR)
        draw.text(((x0 + x1) / 2, bottom + 8), label, fill=AXIS, font=small, anchor="ma")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
