"""Every phone in every hand: languages, senior mode, spare-minute bursts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from bot.domain.projects import parse_project
from bot.render.cards import TEXT_SIZE, WIDTH, _load, draws, font_path, render_card
from bot.sim.crowd import answer_tasks, join, open_task, task_id
from tests.conftest import Running, sentiment_doc


@pytest.fixture
def cjk_font() -> str:
    """Never a skip: `pip install -e .` brings a CJK font (noto-cjk-sans-otc)."""
    path = font_path()
    if path is None:
        pytest.fail("no font draws Hangul and Chinese: noto-cjk-sans-otc is missing "
                    "(pip install -e . installs it; README, Bigger text)")
    return path


needs_cjk_font = pytest.mark.usefixtures("cjk_font")


async def load(bot: Running, tmp_path: Path, texts: list[str], **doc: object) -> None:
    await bot.services.catalog.save(parse_project(sentiment_doc(**doc)))
    file = tmp_path / "items.jsonl"
    file.write_text("".join(json.dumps({"id": f"i{i}", "text": t}, ensure_ascii=False) + "\n"
                            for i, t in enumerate(texts)))
    assert (await bot.services.catalog.import_file("reviews", file)).ok
    await bot.services.broadcasts.notify_events()


@pytest.mark.parametrize(("language", "buttons", "skip"), [
    ("ko", ["😊 긍정", "😐 중립", "🙁 부정"], "⏭ 건너뛰기"),
    ("zh-hans", ["😊 正面", "😐 中性", "🙁 负面"], "⏭ 跳过"),
    ("en", ["😊 Positive", "😐 Neutral", "🙁 Negative"], "⏭ Skip"),
    ("de", ["😊 Positive", "😐 Neutral", "🙁 Negative"], "⏭ Skip"),  # falls back to English
])
async def test_each_phone_sees_its_language(bot: Running, tmp_path: Path, language: str,
                                            buttons: list[str], skip: str) -> None:
    await load(bot, tmp_path, ["one", "two"],
               title={"en": "Reviews", "ko": "리뷰", "zh": "评论"})
    phone = bot.server.phone(800, "P", language_code=language)
    task = await join(phone, "reviews")
    rows = phone.buttons(task)
    assert [r[0] for r in rows[:3]] == buttons and skip in rows[3]
    title = {"ko": "리뷰", "zh-hans": "评论"}.get(language, "Reviews")
    assert (phone.text(task) or "").startswith(title)
    # after an answer the language comes from the row the answer's transaction read
    first = task_id(task)
    await phone.tap(buttons[0], task)
    following = await phone.wait_for(
        lambda p: open_task(p) if task_id(open_task(p)) not in (None, first) else None)
    assert [r[0] for r in phone.buttons(following)[:3]] == buttons
    saved = {"ko": "저장", "zh-hans": "已保存"}.get(language, "Saved")
    assert saved in phone.alerts[-1]


async def test_language_can_be_changed_in_settings(bot: Running, tmp_path: Path) -> None:
    await load(bot, tmp_path, ["one"])
    phone = bot.server.phone(801, "P", language_code="en")
    await join(phone, "reviews")
    await phone.send("/settings")
    await phone.wait_text("Your settings")
    await phone.tap("🌐 Language: English")
    await phone.wait_for(lambda p: ["中文"] in p.buttons())
    await phone.tap("中文")
    await phone.wait_text("你的设置")
    await phone.send("/help")
    await phone.wait_text("tapwork 提供小任务")
    await phone.send("/start")  # Telegram's own language no longer overrides the choice
    await phone.wait_text("欢迎回来")


@needs_cjk_font
def test_card_draws_real_cjk_glyphs() -> None:
    font = _load(font_path(), TEXT_SIZE)
    for char in "한中文字":
        assert draws(font, char)
    fallback = _load(None, TEXT_SIZE)
    assert not draws(fallback, "한")  # what a missing glyph looks like: caught
    png = render_card("커피가 정말 맛있어요 咖啡很好喝", "리뷰")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size[0] == WIDTH and image.size[1] >= 400
    dark = sum(1 for px in image.convert("L").tobytes() if px < 80)
    assert dark > 2000  # real strokes, high contrast


@needs_cjk_font
async def test_senior_mode_sends_a_large_print_card(bot: Running, tmp_path: Path) -> None:
    # two Korean reviews for her, one Chinese one she is never served
    await load(bot, tmp_path, ["커피가 정말 맛있어요", "빵도 정말 맛있어요", "咖啡很好喝"],
               overlap=1)
    phone = bot.server.phone(802, "Grandma", language_code="ko")
    await phone.send("/start reviews")
    notice = await phone.wait_for(lambda p: p.last)
    await phone.tap("✅ 동의해요 (큰 글씨로)", notice)
    card = await phone.wait_for(lambda p: p.last if p.last and p.last.get("photo") else None)
    image = Image.open(io.BytesIO(bot.server.file_bytes(card["photo"][-1]["file_id"])))
    assert image.size[0] == WIDTH
    assert "커피가 정말 맛있어요" in (phone.text(card) or "")  # the words in the caption too
    rows = phone.buttons(card)
    assert all(len(row) == 1 for row in rows)  # one big button per row, Skip and Stop too
    assert (await bot.services.workers.get(802)).senior  # type: ignore[union-attr]
    first = task_id(card)
    await phone.tap(rows[0][0], card)
    nxt = await phone.wait_for(lambda p: p.last if task_id(p.last) not in (None, first)
                               else None)
    assert nxt.get("photo")  # the next card replaced the first one in place
    assert "✓ 저장됨" in (phone.text(nxt) or "")  # the confirmation stays on screen
    lease = await bot.services.work.current(802)
    assert lease is not None


async def test_quick_burst_ends_on_time_with_a_summary(bot: Running, tmp_path: Path) -> None:
    await load(bot, tmp_path, [f"item {i}" for i in range(20)], overlap=1, gold_rate=0.0)
    phone = bot.server.phone(803, "Stu")
    await join(phone, "reviews")
    await phone.send("/quick 2")
    task = await phone.wait_text("2 min: go!")
    assert task_id(task) is not None
    assert await answer_tasks(phone, lambda text, buttons: buttons[0], limit=3) == 3
    bot.clock.advance(minutes=2, seconds=1)
    summary = await phone.wait_text("Time's up!", timeout=5)
    assert "did 3 tasks" in (phone.text(summary) or "") and "$0.06" in (phone.text(summary)
                                                                       or "")
    assert await bot.services.work.current(803) is None  # the open task went back
    await phone.tap("⏱ 1 more minute?", summary)
    await phone.wait_text("1 min: go!")
    assert open_task(phone) is not None
