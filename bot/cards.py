"""Large-print cards for senior mode: a text task as a clear, high-contrast picture.

Type is at least 48 px, black on white, long text wrapped to the card's width (by word
for alphabetic scripts, by character for Chinese and Japanese, and by word or syllable
block for Korean). The font must draw Hangul and Chinese: we look for a CJK font from
the system's packages (Debian: ``fonts-wqy-microhei`` or ``fonts-noto-cjk``; or the file
named by ``TAPWORK_FONT``). When none is found the card is skipped for text it cannot
draw, rather than showing boxes: the task still arrives as plain text, which Telegram
renders in every script.
"""

from __future__ import annotations

import io
import os
import unicodedata
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH = 1080
MARGIN = 64
TEXT_SIZE = 56
TITLE_SIZE = 48
MAX_HEIGHT = 2400
INK, PAPER, ACCENT = (0, 0, 0), (255, 255, 255), (20, 60, 140)
#: checked in order; the first that draws Hangul and Chinese wins
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
#: a code point no font draws: what a missing glyph looks like in a given font
_NO_GLYPH = "\U0010fffd"

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=8)
def _load(path: str | None, size: int) -> Font:
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size)


def draws(font: Font, char: str) -> bool:
    """True when ``font`` has a real glyph for ``char`` (not the empty-box fallback)."""
    if char.isspace():
        return True
    mask = font.getmask(char)
    missing = font.getmask(_NO_GLYPH)
    return mask.size != missing.size or bytes(mask) != bytes(missing)


@lru_cache(maxsize=1)
def font_path() -> str | None:
    """The first font on this machine that draws both Hangul and Chinese."""
    configured = os.environ.get("TAPWORK_FONT")
    for path in ((configured,) if configured else ()) + CANDIDATES:
        if path and Path(path).is_file():
            font = _load(path, TEXT_SIZE)
            if draws(font, "한") and draws(font, "中"):
                return path
    return None


def can_draw(text: str) -> bool:
    """Whether a card would show every character of ``text`` (else send text only)."""
    path = font_path()
    font = _load(path, TEXT_SIZE) if path else _load(None, TEXT_SIZE)
    return all(draws(font, ch) for ch in set(text) if unicodedata.category(ch)[0] != "C")


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _tokens(text: str) -> list[str]:
    """Break points: words of alphabetic text, single wide (CJK) characters."""
    tokens: list[str] = []
    word = ""
    for char in text:
        if char.isspace():
            if word:
                tokens.append(word)
            word = ""
            tokens.append(" ")
        elif _is_wide(char) and not ("\uac00" <= char <= "\ud7a3"):
            if word:
                tokens.append(word)
            word = ""
            tokens.append(char)
        else:
            word += char
    if word:
        tokens.append(word)
    return tokens


def wrap(text: str, font: Font, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for token in _tokens(paragraph):
            candidate = line + token
            if line and font.getlength(candidate.rstrip()) > width:
                lines.append(line.rstrip())
                line = token.lstrip()
                while font.getlength(line) > width:  # a single over-long word
                    cut = max(1, len(line) - 1)
                    while cut > 1 and font.getlength(line[:cut]) > width:
                        cut -= 1
                    lines.append(line[:cut])
                    line = line[cut:]
            else:
                line = candidate
        lines.append(line.rstrip())
    return lines


def render_card(text: str, title: str = "") -> bytes:
    """The PNG card: an optional title in blue, then the text, large and wrapped."""
    path = font_path()
    body_font = _load(path, TEXT_SIZE)
    title_font = _load(path, TITLE_SIZE)
    inner = WIDTH - 2 * MARGIN
    title_lines = wrap(title, title_font, inner) if title else []
    body_lines = wrap(text, body_font, inner)
    line_height = int(TEXT_SIZE * 1.35)
    title_height = int(TITLE_SIZE * 1.3)
    height = MARGIN * 2 + len(title_lines) * title_height + len(body_lines) * line_height
    if title_lines:
        height += MARGIN // 2
    height = min(max(height, 400), MAX_HEIGHT)
    image = Image.new("RGB", (WIDTH, height), PAPER)
    draw = ImageDraw.Draw(image)
    y = MARGIN
    for line in title_lines:
        draw.text((MARGIN, y), line, fill=ACCENT, font=title_font)
        y += title_height
    if title_lines:
        y += MARGIN // 2
    for line in body_lines:
        if y + line_height > height - MARGIN // 2:
            draw.text((MARGIN, y), "…", fill=INK, font=body_font)
            break
        draw.text((MARGIN, y), line, fill=INK, font=body_font)
        y += line_height
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
