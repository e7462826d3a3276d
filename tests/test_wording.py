"""Korean and Chinese that read as written by a native editor, and project titles, never
slugs, in everything a worker reads.

The catalog checks scan every translation, so a message added later is held to the same
rules: no Korean particle fallback such as "을(를)", no particle whose form depends on the
word before it right after a placeholder, one politeness level (해요체), and no English
word inside Korean or Chinese text beyond a short list of names and codes.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.domain.notice_kinds import (
    BroadcastHeld,
    DailySummary,
    NewItems,
    Notice,
    ProjectOpened,
    UnitSettled,
)
from bot.domain.projects import parse_texts
from bot.domain.qualify import OPERATOR
from bot.i18n import catalog, gettext_for
from bot.sim.crowd import join
from bot.wiring import Services
from handlers.notices import render
from tests.conftest import OPERATOR_ID, Running, add_project, add_worker
from tests.test_ledger import add_gold, work

SLUG = "reviews-2024"
TITLE = {"en": "How does this review feel?", "ko": "이 리뷰는 어떤 느낌인가요?",
         "zh": "这条评论给人什么感觉？"}


def _translations(language: str) -> list[tuple[str, str]]:
    return sorted(catalog(language).items())


def _without_placeholders(text: str) -> str:
    return "".join(literal for literal, _name, _spec, _conv in string.Formatter().parse(text))


# -- Korean ------------------------------------------------------------------------------

#: "을(를)", "(으)로", "이(가)" …: a sentence written for any word, right for none
_FALLBACK = re.compile(r"\((?:을|를|이|가|은|는|와|과|으|으로|로|이라|라)\)")
#: particles whose form follows the last sound of the word before them: after a
#: placeholder the right form cannot be known ("$0.02을" or "$0.02를"?)
_PARTICLE_AFTER_PLACEHOLDER = re.compile(
    r"\}(?:을|를|이|가|은|는|와|과|으로|로|라는|라고|예요|였|랑|나|야|아)")
#: 합니다체 endings: the catalog speaks 해요체 only
_FORMAL = re.compile(r"니다|니까|십시오")


def _offending(language: str, pattern: re.Pattern[str]) -> dict[str, str]:
    """msgid -> translation, for every translation the pattern finds something in."""
    return {msgid: text for msgid, text in _translations(language) if pattern.search(text)}


def test_korean_has_no_particle_fallback() -> None:
    assert _offending("ko", _FALLBACK) == {}


def test_korean_has_no_variable_particle_after_a_placeholder() -> None:
    assert _offending("ko", _PARTICLE_AFTER_PLACEHOLDER) == {}


def test_korean_speaks_one_politeness_level() -> None:
    assert _offending("ko", _FORMAL) == {}, "합니다체 where the catalog speaks 해요체"


def test_the_korean_checks_catch_what_they_are_for() -> None:
    assert _FALLBACK.search("{amount}을(를) 벌었어요")
    assert _FALLBACK.search("{name}(이)라는 프로젝트")
    assert _PARTICLE_AFTER_PLACEHOLDER.search("{title}이 열렸어요")
    assert _PARTICLE_AFTER_PLACEHOLDER.search("{amount}예요")
    assert not _PARTICLE_AFTER_PLACEHOLDER.search("작업 {count}개 · {title} — 새 작업")
    assert _FORMAL.search("저장되었습니다.")
    assert _ascii_words("점검 중 maintenance {name} /tasks") == ["maintenance"]


# -- English inside Korean and Chinese ---------------------------------------------------

#: names and codes that stay in Latin letters in Korean and Chinese text too: the
#: product, Telegram, "ID", file formats and units, an ISO currency code in an example
ALLOWED_ASCII = {"tapwork", "Telegram", "ID", "TOML", "JSONL", "CSV", "ZIP", "COCO", "JSON",
                 "MB", "UTC", "USD"}
#: bot commands, the CLI, the deep link shape, a file name ending, the language prefixes
#: of /newproject: typed as they are
_LITERAL = re.compile(r"(?<![\w/])/[a-z_]+|tapwork [a-z]+|t\.me/\S+|\.toml\b"
                      r"|\b(?:en|ko|zh):")


def _ascii_words(text: str) -> list[str]:
    bare = _LITERAL.sub(" ", _without_placeholders(text))
    return [w for w in re.findall(r"[A-Za-z]+", bare) if w not in ALLOWED_ASCII]


@pytest.mark.parametrize("language", ["ko", "zh"])
def test_no_english_words_inside_korean_or_chinese(language: str) -> None:
    found = {msgid: words for msgid, text in _translations(language)
             if (words := _ascii_words(text))}
    assert found == {}


# -- Chinese -----------------------------------------------------------------------------

_CJK = "\u4e00-\u9fff"
_FULL_PUNCT = "，。：；！？、（）“”《》"
#: ASCII punctuation touching Chinese: "标题:" instead of "标题："
_HALF_PUNCT = re.compile(rf"[{_CJK}][,.:;!?()]|[,:;!?(][{_CJK}]")
#: a space between two Chinese characters, or beside full-width punctuation
_STRAY_SPACE = re.compile(rf"[{_CJK}{_FULL_PUNCT}] [{_CJK}{_FULL_PUNCT}]")
#: placeholders that may hold Chinese text (a title, a reason): a space beside them
#: would sit between two Chinese characters once filled in
_TEXT_SPACED = re.compile(rf"[{_CJK}] \{{(?:title|project|reason|answer|accepted|text)\}}"
                          rf"|\{{(?:title|project|reason|answer|accepted|text)\}} [{_CJK}]")


def test_chinese_uses_full_width_punctuation() -> None:
    assert _offending("zh", _HALF_PUNCT) == {}


def test_chinese_has_no_stray_spaces() -> None:
    assert _offending("zh", _STRAY_SPACE) == {}
    assert _offending("zh", _TEXT_SPACED) == {}, "a space beside a text placeholder"


def test_the_chinese_checks_catch_what_they_are_for() -> None:
    assert _HALF_PUNCT.search("进度:{done}")
    assert _STRAY_SPACE.search("用法：/pause 名称 或 /resume 名称")
    assert _TEXT_SPACED.search("{title} 有新任务了")
    assert not _STRAY_SPACE.search("每个任务 {amount}，剩 {count} 个")


# -- /newproject: texts per language ---------------------------------------------------


@pytest.mark.parametrize(("typed", "language", "texts"), [
    ("Which fruit?", "en", {"en": "Which fruit?"}),
    ("어떤 과일인가요?", "ko", {"ko": "어떤 과일인가요?"}),
    ("en: Which fruit?\nKO： 어떤 과일?\nzh:哪种水果？", "ko",
     {"en": "Which fruit?", "ko": "어떤 과일?", "zh": "哪种水果？"}),
    ("Read it\nthen pick\nko: 읽고\n고르세요\nzh: ", "en",
     {"en": "Read it\nthen pick", "ko": "읽고\n고르세요"}),
    ("ko:   ", "en", {}),
])
def test_texts_typed_in_chat_are_split_by_language(typed: str, language: str,
                                                   texts: dict[str, str]) -> None:
    assert parse_texts(typed, language) == texts


# -- project titles, never slugs ---------------------------------------------------------


async def _project(services: Services) -> int:
    project_id = await add_project(services, items=4, name=SLUG, title=TITLE,
                                   min_accuracy=0.0, settle_unit=2)
    await add_gold(services, project_id, ["positive"] * 4)
    return project_id


async def _settled_notices(services: Services, clock: FakeClock) -> list[Notice]:
    """Real settlement notices, as the ledger writes them: paid in full, discounted, and
    paid in full because the checks took too long."""
    for worker in (1, 2, 3):
        await add_worker(services, worker)
    await work(services, clock, 1, [True, True], project=SLUG)
    await work(services, clock, 2, [True, False], project=SLUG)
    assert await services.payroll.settle_due() == 2
    await work(services, clock, 3, ["positive"], project=SLUG)
    clock.advance(hours=80)
    assert await services.payroll.settle_due() == 1
    notices = [n for n in await services.notices.due() if isinstance(n.body, UnitSettled)]
    assert sorted(getattr(n.body, "outcome", "") for n in notices) == \
        ["auto", "discounted", "full"]
    return notices


@pytest.mark.parametrize("language", ["en", "ko", "zh"])
async def test_every_notice_names_the_project_by_its_title(services: Services,
                                                           clock: FakeClock,
                                                           language: str) -> None:
    project_id = await _project(services)
    notices = [Notice(0, 1, body) for body in (
        ProjectOpened(project_id), NewItems(project_id), BroadcastHeld(project_id))]
    notices += await _settled_notices(services, clock)
    _ = gettext_for(language)
    for notice in notices:
        text = render(notice.body, await services.delivery.about(notice), _).text
        assert SLUG not in text, f"{notice.kind}: {text!r}"
        assert TITLE[language] in text, f"{notice.kind}: {text!r}"
        # the title ends with its own question mark: nothing may follow it directly
        assert not re.search(re.escape(TITLE[language]) + r"[.,:;。，：；]", text), text
    summary = Notice(0, 1, DailySummary((("USD", 20_000),), 0, 0, 3))
    text = render(summary.body, await services.delivery.about(summary), _).text
    assert SLUG not in text and text


async def test_a_settled_notice_stores_the_project_id(services: Services,
                                                      clock: FakeClock) -> None:
    """The title is looked up when the notice is sent, in the reader's language then;
    the id keeps finding the project whatever its slug."""
    project_id = await _project(services)
    for notice in await _settled_notices(services, clock):
        assert getattr(notice.body, "project_id", None) == project_id


# -- end to end --------------------------------------------------------------------------


async def test_a_korean_phone_is_invited_with_the_korean_title(bot: Running,
                                                               tmp_path: Path) -> None:
    phone = bot.server.phone(820, "민지", language_code="ko")
    await add_project(bot.services, items=0, name=SLUG, title=TITLE)
    await bot.services.broadcasts.notify_events()  # nothing to do yet: nobody is in
    await join(phone, SLUG)
    file = tmp_path / "items.jsonl"
    file.write_text('{"id": "k1", "text": "배송이 빨라서 좋아요"}\n'
                    '{"id": "k2", "text": "포장이 엉망이었어요"}\n', "utf-8")
    assert (await bot.services.catalog.import_file(SLUG, file)).ok
    await bot.services.broadcasts.notify_events()
    invite = await phone.wait_text(TITLE["ko"], timeout=5)
    text = phone.text(invite) or ""
    assert "새 작업이 있어요" in text and SLUG not in text
    assert not re.search(r"[A-Za-z]", text.replace("US$", ""))
    assert phone.buttons(invite) == [["▶️ 시작하기"]]


async def test_a_korean_operator_reads_states_in_korean(bot: Running) -> None:
    """Operators keep the slug (they type it in commands); stored codes such as "open" or
    a suspension reason are shown in their language."""
    project_id = await add_project(bot.services, items=2, name=SLUG, title=TITLE)
    await bot.services.workers.seen(5, "지수", "ko")
    await bot.services.workers.consent(5)
    project = await bot.services.catalog.get_by_id(project_id)
    assert project is not None
    await bot.services.work.set_suspended(5, project, True, OPERATOR)
    op = bot.server.phone(OPERATOR_ID, "운영자", language_code="ko")
    await op.send("/projects")
    listing = op.text(await op.wait_text(SLUG)) or ""
    await op.send("/worker 5")
    standing = op.text(await op.wait_text("작업자 5")) or ""
    await op.send(f"/project {SLUG}")
    details = op.text(await op.wait_text(TITLE["ko"])) or ""
    assert "열림" in listing and "열림" in details
    assert "일시 중지 (운영자가 중지함)" in standing
    for text in (listing, standing, details):  # the slug and Babel's "US$" aside
        assert _ascii_words(text.replace(SLUG, "").replace("US$", "")) == [], text
