"""Large-print cards for senior mode: a text task as a clear, high-contrast picture.

Type is at least 48 px, dark on white, long text wrapped to the card's width (by word
for alphabetic scripts, by character for Chinese and Japanese, and by word or syllable
block for Korean).

A card must never show an empty box where a letter should be: every piece drawn on it
(title, instructions, item text) is checked glyph by glyph against the font, and when
no font draws all of them there is no card; the task then arrives as plain text, which
Telegram renders in every script. Fonts are tried in this order:

1. the file named by ``TAPWORK_FONT``, if any;
2. Noto Sans CJK from the ``noto-cjk-sans-otc`` package, a dependency, so that
   ``pip install`` alone draws Korean and Chinese (Hangul, Simplified and Traditional
   Chinese, Japanese, Latin; SIL Open Font License);
3. the system's CJK fonts (Debian: ``fonts-noto-cjk``, ``fonts-wqy-microhei``).

A font collection holds one face per region (Noto: JP, KR, SC, TC, HK). Han characters
are drawn differently in each, so each piece is drawn in the face of its own script:
Korean text in the KR face, Japanese in JP, anything else in SC.
"""

from __future__ import annotations

import io
import logging
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

WIDTH = 1080
MARGIN = 64
TEXT_SIZE = 56
TITLE_SIZE = 48
INSTRUCTIONS_SIZE = 48
#: instructions longer than this many lines end in "…": the item must stay in view
INSTRUCTION_LINES = 4
MAX_HEIGHT = 2400
INK, PAPER, ACCENT, MUTED = (0, 0, 0), (255, 255, 255), (20, 60, 140), (50, 50, 50)
ELLIPSIS = "…"
FONT_ENV = "TAPWORK_FONT"
#: after TAPWORK_FONT and the packaged font, in this order
SYSTEM_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
#: a code point no font draws: what a missing glyph looks like in a given font
_NO_GLYPH = "\U0010fffd"
#: the face of a collection each script is drawn in, by the region in the face's name
_REGION = {"ko": "KR", "ja": "JP", "zh": "SC"}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Face:
    """One face of a font file (a .ttc holds several)."""

    path: str
    index: int = 0


@lru_cache(maxsize=32)
def _load(path: str | None, size: int, index: int = 0) -> Font:
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size, index=index)


def draws(font: Font, char: str) -> bool:
    """True when ``font`` has a real glyph for ``char`` (not the empty-box fallback)."""
    if char.isspace():
        return True
    mask = font.getmask(char)
    missing = font.getmask(_NO_GLYPH)
    return mask.size != missing.size or bytes(mask) != bytes(missing)


@lru_cache(maxsize=1 << 16)
def _has_glyph(face: Face, char: str) -> bool:
    return draws(_load(face.path, TEXT_SIZE, face.index), char)


def face_draws(face: Face, text: str) -> bool:
    """Whether every visible character of ``text`` has a glyph in ``face``.

    Control and format characters (line breaks, zero-width joiners) draw nothing by
    design; everything else, private-use and unassigned code points included, needs a
    glyph.
    """
    return all(_has_glyph(face, ch) for ch in set(text)
               if unicodedata.category(ch) not in ("Cc", "Cf"))


def packaged_font() -> str | None:
    """Noto Sans CJK from the ``noto-cjk-sans-otc`` dependency, if it is installed."""
    try:
        import noto_cjk_sans_otc
    except ImportError:
        return None
    path = Path(str(noto_cjk_sans_otc.FONT_PATH))
    return str(path) if path.is_file() else None


def font_files() -> list[str]:
    """The font files to try, in order, that exist on this machine."""
    configured = os.environ.get(FONT_ENV, "").strip()
    if configured and not Path(configured).is_file():
        _warn_once(configured)
    files = [configured] if configured else []
    files += [f for f in (packaged_font(), *SYSTEM_FONTS) if f]
    return list(dict.fromkeys(f for f in files if Path(f).is_file()))


@lru_cache(maxsize=4)
def _warn_once(path: str) -> None:
    log.warning("%s=%s is not a font file; using the other fonts", FONT_ENV, path)


@lru_cache(maxsize=16)
def _regions(path: str) -> dict[str, int]:
    """Face index by region ("KR", "SC" …) in a collection; empty for a single face."""
    regions: dict[str, int] = {}
    for index in range(32):
        try:
            name = ImageFont.truetype(path, TEXT_SIZE, index=index).getname()[0]
        except OSError:  # past the last face
            break
        words = (name or "").split()
        if "Mono" in words:
            continue
        for region in _REGION.values():
            if region in words:
                regions.setdefault(region, index)
    return regions


def script(text: str) -> str:
    """"ko" for text with Hangul, "ja" with kana, else "zh": which regional face."""
    if any("\uac00" <= ch <= "\ud7a3" or "\u1100" <= ch <= "\u11ff"
           or "\u3130" <= ch <= "\u318f" for ch in text):
        return "ko"
    if any("\u3040" <= ch <= "\u30ff" for ch in text):
        return "ja"
    return "zh"


def face_for(path: str, text: str) -> Face:
    return Face(path, _regions(path).get(_REGION[script(text)], 0))


def choose_faces(pieces: Sequence[str]) -> list[Face] | None:
    """A face for each piece from the first font file that draws all of them, or None."""
    for path in font_files():
        faces = [face_for(path, piece) for piece in pieces]
        if all(face_draws(face, piece) for face, piece in zip(faces, pieces, strict=True)):
            return faces
    return None


def font_path() -> str | None:
    """The first font file here that draws both Hangul and Chinese (for diagnostics)."""
    faces = choose_faces(["한국어", "中文"])
    return faces[0].path if faces else None


def can_draw(text: str, title: str = "", instructions: str = "") -> bool:
    """Whether a card would show every character of every piece (else send text only)."""
    return choose_faces(_pieces(text, title, instructions)) is not None


def _pieces(text: str, title: str, instructions: str) -> list[str]:
    # the ellipsis too: it ends whatever had to be cut off
    return [title + ELLIPSIS, instructions + ELLIPSIS, text + ELLIPSIS]


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


#: punctuation that must not begin a line (Chinese and Japanese line-breaking rules)
NO_LINE_START = set("，。、；：！？）》」』】〕〉”’…・ー～,.;:!?)]}%")


def _tokens(text: str) -> list[str]:
    """Break points: words of alphabetic text, single wide (CJK) characters; closing
    punctuation stays with the character before it."""
    tokens: list[str] = []
    word = ""
    for char in text:
        if char.isspace():
            if word:
                tokens.append(word)
            word = ""
            tokens.append(" ")
        elif char in NO_LINE_START and not word and tokens and tokens[-1] != " ":
            tokens[-1] += char
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


def _clip(lines: list[str], count: int) -> list[str]:
    if len(lines) <= count:
        return lines
    return [*lines[:count - 1], lines[count - 1].rstrip(" .") + ELLIPSIS]


def render_card(text: str, title: str = "", instructions: str = "") -> bytes | None:
    """The PNG card: the title in blue, the instructions (a few lines at most), then the
    item's text, large and wrapped. None when some character of any of them cannot be
    drawn in any font here: an empty box must never reach a phone."""
    instructions = "" if instructions.strip() == title.strip() else instructions.strip()
    faces = choose_faces(_pieces(text, title, instructions))
    if faces is None:
        return None
    title_font = _load(faces[0].path, TITLE_SIZE, faces[0].index)
    note_font = _load(faces[1].path, INSTRUCTIONS_SIZE, faces[1].index)
    body_font = _load(faces[2].path, TEXT_SIZE, faces[2].index)
    inner = WIDTH - 2 * MARGIN
    title_height = int(TITLE_SIZE * 1.3)
    note_height = int(INSTRUCTIONS_SIZE * 1.3)
    line_height = int(TEXT_SIZE * 1.35)
    blocks = [(wrap(title, title_font, inner) if title else [], title_font, title_height,
               ACCENT),
              (_clip(wrap(instructions, note_font, inner), INSTRUCTION_LINES)
               if instructions else [], note_font, note_height, MUTED),
              (wrap(text, body_font, inner), body_font, line_height, INK)]
    blocks = [block for block in blocks if block[0]]
    height = MARGIN * 2 + sum(len(lines) * step for lines, _, step, _ in blocks) \
        + MARGIN // 2 * (len(blocks) - 1)
    height = min(max(height, 400), MAX_HEIGHT)
    image = Image.new("RGB", (WIDTH, height), PAPER)
    draw = ImageDraw.Draw(image)
    y = MARGIN
    rows = [(block, line, font, step, colour)
            for block, (lines, font, step, colour) in enumerate(blocks) for line in lines]
    for number, (block, line, font, step, colour) in enumerate(rows):
        if number and rows[number - 1][0] != block:
            y += MARGIN // 2  # between title, instructions and text
        if y + step > height - MARGIN // 2:
            draw.text((MARGIN, y), ELLIPSIS, fill=colour, font=font)
            break
        draw.text((MARGIN, y), line, fill=colour, font=font)
        y += step
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
