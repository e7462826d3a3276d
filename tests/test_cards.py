"""Large-print cards: drawn in Korean and Chinese by what ``pip install`` brings, and never
with an empty box where a letter should be."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from bot.domain.projects import parse_project
from bot.render import cards
from tests.conftest import Running, sentiment_doc

#: no font has a glyph for a private-use character or an Egyptian hieroglyph
UNDRAWABLE = ("\ue000", "𓀀")


@pytest.fixture
def cjk_font() -> str:
    """The packaged font: a plain clone's `pip install -e .` must have it."""
    path = cards.packaged_font()
    if path is None:
        pytest.fail("no CJK font: noto-cjk-sans-otc is missing (pip install -e . installs "
                    "it; README, Bigger text)")
    return path


@pytest.fixture
def latin_font(tmp_path: Path) -> str:
    """A font that draws only basic Latin: Pillow's own default font, as a file."""
    font = ImageFont.load_default(size=20)
    assert isinstance(font, ImageFont.FreeTypeFont) and isinstance(font.path, io.BytesIO)
    file = tmp_path / "latin.ttf"
    file.write_bytes(font.path.getvalue())
    return str(file)


@pytest.fixture(autouse=True)
def no_font_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cards.FONT_ENV, raising=False)


def dark_pixels(png: bytes, box: tuple[int, int, int, int] | None = None) -> int:
    image = Image.open(io.BytesIO(png)).convert("L")
    if box:
        image = image.crop(box)
    return sum(1 for px in image.tobytes() if px < 128)


def test_packaged_font_draws_hangul_and_simplified_chinese(cjk_font: str) -> None:
    hangul = [chr(c) for c in range(0xAC00, 0xD7A4, 7)]  # every 7th of all 11,172
    common = []  # every 3rd of GB 2312 level 1, the 3,755 most used Chinese characters
    for hi in range(0xB0, 0xD8):
        common += [bytes([hi, lo]).decode("gb2312") for lo in range(0xA1, 0xFF, 3)
                   if (hi, lo) < (0xD7, 0xFA)]
    for text in ("".join(hangul), "".join(common), "，。！？：；“”（）《》、…"):
        assert cards.face_draws(cards.face_for(cjk_font, text), text)
    assert cards.font_path() == cjk_font  # first in line when TAPWORK_FONT is not set


def test_each_script_is_drawn_in_its_own_regional_face(cjk_font: str) -> None:
    korean = cards.face_for(cjk_font, "직각 骨")
    chinese = cards.face_for(cjk_font, "直角骨")
    assert (korean.path, chinese.path) == (cjk_font, cjk_font)
    assert korean.index != chinese.index  # Noto's KR and SC faces

    def shape(face: cards.Face) -> Image.Image:
        font = cards._load(face.path, 200, face.index)
        image = Image.new("L", (240, 240), 255)
        ImageDraw.Draw(image).text((10, 0), "骨", font=font, fill=0)
        return image

    # 骨 is written differently in Korea and in mainland China
    assert ImageChops.difference(shape(korean), shape(chinese)).getbbox() is not None


@pytest.mark.parametrize("language", ["ko", "zh"])
def test_cards_draw_korean_and_chinese(cjk_font: str, language: str, tmp_path: Path) -> None:
    texts = {
        "ko": ("리뷰", "리뷰를 읽고 글쓴이의 기분을 골라 주세요.", "커피가 정말 맛있어요. "
               "직원도 친절하고 분위기가 좋아서 또 오고 싶어요."),
        "zh": ("评论", "请阅读这条评论，然后选择作者的心情。", "咖啡很好喝，服务员也很热情。"
               "环境安静，适合看书，不过价格有点贵。"),
    }
    title, instructions, text = texts[language]
    png = cards.render_card(text, title, instructions)
    assert png is not None
    (tmp_path / f"card-{language}.png").write_bytes(png)  # to look at when it fails
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size[0] == cards.WIDTH and image.size[1] >= 400
    assert dark_pixels(png) > 5000  # real strokes
    # title, instructions and text each take their own lines, all drawn
    assert dark_pixels(png, (0, cards.MARGIN, cards.WIDTH, cards.MARGIN + 60)) > 200


def test_closing_punctuation_never_starts_a_line(cjk_font: str) -> None:
    font = cards._load(cjk_font, cards.TEXT_SIZE, cards.face_for(cjk_font, "中").index)
    text = "咖啡很好喝服务员也很热情环境安静，适合看书。不过价格有点贵，停车也不方便。" * 3
    for width in range(300, 960, 7):
        lines = cards.wrap(text, font, width)
        assert "".join(lines) == text
        assert not any(line[0] in cards.NO_LINE_START for line in lines if line)


@pytest.mark.parametrize("piece", ["title", "instructions", "text"])
@pytest.mark.parametrize("char", UNDRAWABLE)
def test_no_card_when_any_piece_has_a_character_no_font_draws(
        cjk_font: str, piece: str, char: str) -> None:
    pieces = {"title": "리뷰", "instructions": "기분을 골라 주세요", "text": "맛있어요"}
    assert cards.render_card(**pieces) is not None
    pieces[piece] += f" {char}"
    assert cards.render_card(**pieces) is None
    assert not cards.can_draw(**pieces)


def test_tofu_is_caught_in_any_font(latin_font: str) -> None:
    font = cards._load(latin_font, cards.TEXT_SIZE)
    assert cards.draws(font, "A")
    assert not cards.draws(font, "한") and not cards.draws(font, "中")  # the empty box


def test_tapwork_font_comes_first_then_the_packaged_font(
        cjk_font: str, latin_font: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cards.FONT_ENV, latin_font)
    files = cards.font_files()
    assert files[:2] == [latin_font, cjk_font]
    # Latin text is drawn in the operator's font; Korean falls through to the packaged one
    assert {f.path for f in cards.choose_faces(["Reviews", "Pick one", "Great"]) or []} == \
        {latin_font}
    assert {f.path for f in cards.choose_faces(["Reviews", "Pick one", "맛있어요"]) or []} \
        == {cjk_font}
    assert cards.render_card("맛있어요", "Reviews") is not None


def test_a_missing_tapwork_font_is_reported_and_skipped(
        cjk_font: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    missing = str(tmp_path / "nope.ttf")
    monkeypatch.setenv(cards.FONT_ENV, missing)
    with caplog.at_level(logging.WARNING, logger="bot.render.cards"):
        assert cards.font_files()[0] == cjk_font
    assert f"TAPWORK_FONT={missing} is not a font file" in caplog.text


@pytest.mark.parametrize(("language", "text", "agree"), [
    ("en", "The coffee was great", "✅ I agree, with bigger text"),
    ("ko", "커피가 정말 맛있어요", "✅ 동의해요 (큰 글씨로)"),
])
async def test_senior_gets_plain_text_when_the_title_cannot_be_drawn(
        cjk_font: str, bot: Running, tmp_path: Path, language: str, text: str,
        agree: str) -> None:
    """The card would show a box for the title's last character: the task comes as text,
    with the same words and buttons."""
    await bot.services.catalog.save(parse_project(sentiment_doc(
        title={"en": f"Reviews {UNDRAWABLE[1]}", "ko": f"리뷰 {UNDRAWABLE[1]}"},
        overlap=1)))
    file = tmp_path / "items.jsonl"
    file.write_text(json.dumps({"id": "a", "text": text}, ensure_ascii=False) + "\n")
    assert (await bot.services.catalog.import_file("reviews", file)).ok
    await bot.services.broadcasts.notify_events()
    phone = bot.server.phone(805, "Grandpa", language_code=language)
    await phone.send("/start reviews")
    notice = await phone.wait_for(lambda p: p.last)
    await phone.tap(agree, notice)
    task = await phone.wait_for(
        lambda p: p.last if p.last and text in (p.text(p.last) or "") else None)
    assert not task.get("photo")  # plain text: no card with an empty box
    assert all(len(row) == 1 for row in phone.buttons(task))  # still senior mode
    assert bot.server.count("sendPhoto") == 0
