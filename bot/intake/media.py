"""Turn an operator's image and audio files into what a phone should receive.

Items are prepared once, at import, so sending a task later is just an upload (or a
reused ``file_id``) with no decoding on the hot path. Images become phone-sized JPEGs:
small enough to load on a bus, upright (EXIF orientation applied) and stripped of
metadata such as GPS positions that workers have no business seeing. Audio is checked
by its first bytes and passed through unchanged; only Ogg/Opus of at most 1 MB can be a
Telegram voice note, everything else is sent as an audio file.

This module never imports ``telegram``: it takes bytes and returns a plain dataclass.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
import wave
from dataclasses import dataclass
from pathlib import PurePath

from PIL import Image, ImageOps

from bot.domain.errors import TapworkError
from bot.i18n import N_

#: biggest image or audio file accepted, the same as a Telegram bot's getFile download
MAX_MEDIA_BYTES = 20 * 1024 * 1024
#: pixels an image may declare before it is refused as a decompression bomb. 50 MP lets
#: a full-resolution 48/50 MP phone photo through while keeping the worst decode (RGBA)
#: near 200 MB; Pillow's own limit (89 MP warning, 179 MP error) is looser than this.
MAX_PIXELS = 50_000_000
#: long side of the prepared photo: sharp on any phone, small on a slow connection
MAX_SIDE = 1280
#: Telegram refuses photos whose sides differ by more than this factor
MAX_ASPECT = 20
JPEG_QUALITY = 85
#: Telegram shows Ogg/Opus as a voice note only up to this size
MAX_VOICE_BYTES = 1_000_000  # "1 MB" read the strict way, so a voice note never bounces
#: formats a photo may arrive in (JPEG includes phones' multi-picture MPO). Restricting
#: Pillow's openers keeps rarely used decoders (and EPS, which calls Ghostscript) away
#: from files strangers upload.
IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")

#: ``ftyp`` brands of HEIF/AVIF pictures, which share the MP4 container with M4A audio
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
                 b"avif", b"avis"}


class MediaError(TapworkError, ValueError):
    """A media file cannot be used; ``str()`` is a short reason an operator can act on."""


@dataclass(frozen=True)
class PreparedMedia:
    """A media file ready to send: ``kind`` says which Bot API method sends it."""

    kind: str  # "photo" | "voice" | "audio"
    data: bytes
    mime: str
    filename: str
    sha256: str  # hex digest of ``data``; storage deduplicates and caches file_ids by it
    width: int | None = None
    height: int | None = None
    duration: int | None = None  # whole seconds, rounded up


def format_size(size: int) -> str:
    """``20 MB``, ``1.5 MB``, ``512 KB``: a limit as an operator reads it."""
    if size >= 1024 * 1024:
        return f"{round(size / (1024 * 1024), 1):g} MB"
    return f"{max(1, round(size / 1024))} KB"


def _check_pixels(image: Image.Image) -> None:
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise MediaError(N_("image is too large: {width} x {height} pixels (the limit is "
                            "{limit} megapixels)"), width=width, height=height,
                         limit=f"{MAX_PIXELS / 1_000_000:g}")
    if width < 1 or height < 1:
        raise MediaError(N_("image has no pixels"))
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise MediaError(N_("image is too long and thin for Telegram ({width} x {height} "
                            "pixels; the sides may differ at most {limit} times)"),
                         width=width, height=height, limit=MAX_ASPECT)


def _open_checked(data: bytes) -> Image.Image:
    """Open ``data`` lazily (header only) and refuse it if it claims too many pixels."""
    Image.init()  # register every plugin once: ``formats`` may only name loaded ones
    image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    _check_pixels(image)
    return image


def _decode(data: bytes) -> Image.Image:
    """Verify, then decode for real; verify() alone misses truncated pixel data."""
    with _open_checked(data) as probe:
        probe.verify()
    image = _open_checked(data)
    # JPEG can decode at 1/2, 1/4 or 1/8 size for free: ask for no less than the target.
    scale = MAX_SIDE / max(image.size)
    if scale < 1:
        image.draft(None, (math.ceil(image.width * scale), math.ceil(image.height * scale)))
    image.load()
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB for JPEG; transparent areas become white, as they look in a chat bubble."""
    if image.mode.startswith("I;16"):
        # 16-bit greyscale PNG: scale to 8 bits instead of letting convert() clip it
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    elif image.mode in ("I", "F"):
        image = image.convert("L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def prepare_image(data: bytes, filename: str = "image.jpg") -> PreparedMedia:
    """Check an image and re-encode it as a phone-sized JPEG (long side <= ``MAX_SIDE``).

    Raises ``MediaError`` for anything that is not a readable image in
    ``IMAGE_FORMATS``, declares more than ``MAX_PIXELS`` pixels (Pillow's own
    decompression-bomb warning counts as a refusal too), or that Telegram would refuse.
    """
    if len(data) > MAX_MEDIA_BYTES:
        raise MediaError(N_("image file is larger than {size}"),
                         size=format_size(MAX_MEDIA_BYTES))
    if not data:
        raise MediaError(N_("image file is empty"))
    try:
        # catch_warnings is process-wide; at worst a warning elsewhere is briefly an error
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = _decode(data)
            image = ImageOps.exif_transpose(image)
            # a rotated image keeps its pixel count and aspect; checked again for safety
            _check_pixels(image)
    except MediaError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise MediaError(N_("image is too large ({library} refused it as a decompression "
                            "bomb)"), library="Pillow") from None
    except Exception:  # damaged files make Pillow raise nearly any error type
        raise MediaError(N_("not an image, or a damaged one (use {formats} or {last})"),
                         formats="JPEG, PNG, GIF, WebP, BMP", last="TIFF") from None
    image = _to_rgb(image)
    if max(image.size) > MAX_SIDE:
        scale = MAX_SIDE / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    jpeg = out.getvalue()
    return PreparedMedia(
        kind="photo", data=jpeg, mime="image/jpeg",
        filename=f"{PurePath(filename).stem or 'image'}.jpg",
        sha256=hashlib.sha256(jpeg).hexdigest(), width=image.width, height=image.height,
    )


def _is_mpeg_audio(data: bytes) -> bool:
    """ID3 tag, or an MPEG audio frame sync that is not AAC/ADTS (layer bits 00)."""
    if data[:3] == b"ID3":
        return True
    return (len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0
            and data[1] & 0x06 != 0 and data[1] & 0x18 != 0x08)


def _opus_duration(data: bytes, head: int) -> int | None:
    """Seconds from the last page's granule position (48 kHz samples) minus pre-skip."""
    pre_skip = int.from_bytes(data[head + 10:head + 12], "little")
    last = data.rfind(b"OggS")
    granule = int.from_bytes(data[last + 6:last + 14], "little", signed=True)
    if granule <= pre_skip:
        return None
    return math.ceil((granule - pre_skip) / 48_000)


def _wav_duration(data: bytes) -> int | None:
    try:
        with wave.open(io.BytesIO(data)) as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
    except (wave.Error, EOFError, ValueError):
        return None  # compressed or extensible WAV: fine to send, just no duration
    return math.ceil(frames / rate) if rate else None


def _named(filename: str, extension: str) -> str:
    stem = PurePath(filename.replace("\\", "/")).stem or "audio"
    return f"{stem}{extension}"


def prepare_audio(data: bytes, filename: str) -> PreparedMedia:
    """Recognise an audio file by its magic bytes; the data is passed through unchanged.

    The file name is not trusted (an operator's ``a.mp3`` may be anything), so the
    content decides; the name only keeps its stem and gets the matching extension.
    Raises ``MediaError`` for non-audio files and files over ``MAX_MEDIA_BYTES``.
    """
    if len(data) > MAX_MEDIA_BYTES:
        raise MediaError(N_("audio file is larger than {size}"),
                         size=format_size(MAX_MEDIA_BYTES))
    kind, mime, extension, duration = "audio", "", "", None
    if data[:4] == b"OggS":
        # the first page holds only the codec header: 27 bytes + up to 255 lacing values
        head = data.find(b"OpusHead", 0, 27 + 255 + 8)
        mime, extension = "audio/ogg", ".ogg"
        if head >= 0:
            duration = _opus_duration(data, head)
            if len(data) <= MAX_VOICE_BYTES:
                kind = "voice"
    elif data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        mime, extension, duration = "audio/wav", ".wav", _wav_duration(data)
    elif data[:4] == b"fLaC":
        mime, extension = "audio/flac", ".flac"
    elif data[4:8] == b"ftyp" and data[8:12] not in _IMAGE_BRANDS:
        mime, extension = "audio/mp4", ".m4a"
    elif _is_mpeg_audio(data):
        mime, extension = "audio/mpeg", ".mp3"
    else:
        raise MediaError(N_("not an audio file (use {formats} or {last})"),
                         formats="Ogg/Opus, MP3, M4A, WAV", last="FLAC")
    return PreparedMedia(
        kind=kind, data=data, mime=mime, filename=_named(filename, extension),
        sha256=hashlib.sha256(data).hexdigest(), duration=duration,
    )
