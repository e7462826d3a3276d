"""Time zones as people know them, and the first one a worker gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FakeClock
from bot.domain import timezones
from bot.wiring import Services

JANUARY = datetime(2026, 1, 15, 12, tzinfo=UTC)
JULY = datetime(2026, 7, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize(("minutes", "shown"), [
    (540, "UTC+9"), (330, "UTC+5:30"), (345, "UTC+5:45"), (-210, "UTC-3:30"),
    (0, "UTC+0"), (-720, "UTC-12"), (840, "UTC+14"),
])
def test_offset_text(minutes: int, shown: str) -> None:
    assert timezones.offset_text(timedelta(minutes=minutes)) == shown


@pytest.mark.parametrize(("zone", "locale", "shown"), [
    ("Asia/Seoul", "ko", "UTC+9 · 서울"),
    ("Asia/Seoul", "zh", "UTC+9 · 首尔"),
    ("Asia/Shanghai", "ko", "UTC+8 · 상하이"),
    ("Asia/Shanghai", "zh", "UTC+8 · 上海"),
    ("Asia/Kolkata", "en", "UTC+5:30 · Kolkata"),
    ("UTC", "ko", "UTC"),
    ("Etc/GMT+12", "zh", "UTC-12"),  # no city, and not Babel's sign-inverted "GMT+12"
    ("Europe/Paris", "ko", "UTC+1 · 파리"),  # a zone outside the picker is still named
])
def test_label_is_an_offset_and_a_city_in_the_readers_words(zone: str, locale: str,
                                                            shown: str) -> None:
    assert timezones.label(zone, JANUARY, locale) == shown


def test_label_follows_daylight_saving() -> None:
    assert timezones.label("America/New_York", JANUARY, "en") == "UTC-5 · New York"
    assert timezones.label("America/New_York", JULY, "en") == "UTC-4 · New York"


@pytest.mark.parametrize("now", [JANUARY, JULY])
@pytest.mark.parametrize("locale", ["en", "ko", "zh"])
def test_picker_covers_every_offset_people_live_at(now: datetime, locale: str) -> None:
    picked = timezones.picker(now, locale)
    offsets = [timezones.offset(zone, now) for zone, _ in picked]
    assert offsets == sorted(offsets)  # west to east
    # every whole hour, and the half and three-quarter hours that have no daylight saving
    required = {timedelta(hours=h) for h in range(-12, 15)} | {
        timedelta(minutes=m) for m in (-570, 210, 270, 330, 345, 390, 525, 570)}
    assert sorted(required - set(offsets)) == []
    for zone, text in picked:
        assert "/" not in text and "_" not in text, (zone, text)  # never a raw zone id
        assert len(f"set:tz:{zone}".encode()) <= 64  # Telegram's callback data limit
        assert text == "UTC" or " · " in text or zone.startswith("Etc/")
    assert len(picked) == len(set(zone for zone, _ in picked)) <= 60


def test_only_the_pickers_zones_are_offered() -> None:
    assert timezones.offered("Asia/Seoul") and timezones.offered("UTC")
    for forged in ("Europe/Paris", "Asia/Seoul/..", "", "asia/seoul", "Local"):
        assert not timezones.offered(forged)


@pytest.mark.parametrize(("language_code", "zone"), [
    ("ko", "Asia/Seoul"), ("zh-hans", "Asia/Shanghai"), ("en", "UTC"), ("de", "UTC"),
    (None, "UTC"),
])
async def test_first_visit_sets_a_zone_from_the_language(services: Services,
                                                         language_code: str | None,
                                                         zone: str) -> None:
    assert (await services.workers.seen(1, "Ann", language_code)).timezone == zone


async def test_a_kept_zone_is_never_overridden(services: Services, clock: FakeClock) -> None:
    await services.workers.seen(1, "Ann", "en")
    await services.workers.update(1, timezone="Asia/Kolkata")
    assert (await services.workers.seen(1, "Ann", "ko")).timezone == "Asia/Kolkata"
    await services.workers.seen(2, "Bo", "ko")
    clock.advance(days=1)
    assert (await services.workers.seen(2, "Bo", "en")).timezone == "Asia/Seoul"
