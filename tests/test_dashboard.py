"""The dashboard without a browser: sign-in links (hashed, single-use, ten minutes), the
/dashboard command, sessions and CSRF over plain HTTP, actions through the services,
streamed exports, the config keys, and the agreement figures."""

from __future__ import annotations

import asyncio
import json
import warnings
from pathlib import Path

import pytest
from aiohttp import ClientSession, CookieJar, web
from aiohttp.test_utils import make_mocked_request
from aiohttp.web_exceptions import NotAppKeyWarning

from bot.clock import FakeClock
from bot.config import parse_config
from bot.domain.agreement import Agreement
from bot.domain.errors import ConfigError
from bot.services.signin import Refusal, SignedIn, token_hash
from bot.sim.standin import BotApiStandIn
from bot.wiring import Services
from handlers.web.dashboard.downloads import rate_buckets
from handlers.web.dashboard.render import accept_language
from tests.conftest import OPERATOR_ID, add_worker
from tests.dashboard_helpers import Dashboard, dashboard, load_reviews, signed_in
from tests.state import dashboard_link_hashes, operator_actions


@pytest.fixture
async def dash(server: BotApiStandIn, tmp_path: Path, clock: FakeClock):  # type: ignore[no-untyped-def]
    async with dashboard(server, tmp_path, clock) as running_dashboard:
        yield running_dashboard


def _operator_services(services: Services) -> Services:
    from dataclasses import replace

    from bot.config import OperatorsConfig
    services.signin.config = replace(services.config,
                                     operators=OperatorsConfig(ids=(OPERATOR_ID,)))
    return services


# -- sign-in links -----------------------------------------------------------------------


async def test_a_link_is_stored_only_as_its_hash_and_works_once(services: Services) -> None:
    signin = _operator_services(services).signin
    link = await signin.issue(OPERATOR_ID)
    [(stored, operator, used)] = dashboard_link_hashes(services.db)
    assert stored == token_hash(link.token) and link.token not in stored
    assert (operator, used) == (OPERATOR_ID, None)
    assert await signin.redeem(link.token) == SignedIn(OPERATOR_ID)
    assert await signin.redeem(link.token) is Refusal.USED
    assert await signin.redeem(link.token + "x") is Refusal.UNKNOWN
    assert await signin.redeem("") is Refusal.UNKNOWN


async def test_two_browsers_racing_on_one_link_sign_in_once(services: Services) -> None:
    signin = _operator_services(services).signin
    link = await signin.issue(OPERATOR_ID)
    outcomes = await asyncio.gather(*(signin.redeem(link.token) for _ in range(5)))
    assert outcomes.count(SignedIn(OPERATOR_ID)) == 1
    assert set(outcomes) - {SignedIn(OPERATOR_ID)} == {Refusal.USED}


async def test_a_link_expires_after_ten_minutes(services: Services, clock: FakeClock
                                                ) -> None:
    signin = _operator_services(services).signin
    on_time, late = await signin.issue(OPERATOR_ID), await signin.issue(OPERATOR_ID)
    clock.advance(minutes=9, seconds=59)
    assert await signin.redeem(on_time.token) == SignedIn(OPERATOR_ID)
    clock.advance(seconds=2)
    assert await signin.redeem(late.token) is Refusal.EXPIRED
    clock.advance(days=2)  # long expired links are forgotten at the next issue
    await signin.issue(OPERATOR_ID)
    assert len(dashboard_link_hashes(services.db)) == 1


async def test_only_operators_get_links_and_a_removed_one_cannot_use_theirs(
        services: Services) -> None:
    signin = _operator_services(services).signin
    with pytest.raises(PermissionError):
        await signin.issue(12345)
    link = await signin.issue(OPERATOR_ID)
    services.signin.config = services.config  # the operator left operators.ids
    assert await signin.redeem(link.token) is Refusal.NOT_OPERATOR


# -- /dashboard in chat ----------------------------------------------------------------------


async def test_dashboard_in_chat_sends_an_operator_a_link_and_a_stranger_nothing(
        dash: Dashboard) -> None:
    link = await dash.link_from_chat()
    assert link.startswith(f"{dash.base}/dashboard/login?token=")
    op = dash.bot.server.phone(OPERATOR_ID)
    sent = [m for m in op.messages if link in (op.text(m) or "")]
    assert "works once, within 10 minutes" in (op.text(sent[0]) or "")
    stranger = dash.bot.server.phone(600, "Eve")
    await stranger.send("/dashboard")
    await stranger.send("/whoami")  # an answer to the next command shows the first was read
    await stranger.wait_text("Your Telegram id")
    assert len(stranger.messages) == 1
    assert [h[1] for h in dashboard_link_hashes(dash.bot.services.db)] == [OPERATOR_ID]


# -- sessions, CSRF and actions over HTTP ----------------------------------------------------


async def test_pages_need_a_session_and_changes_need_its_token(dash: Dashboard,
                                                             tmp_path: Path) -> None:
    await load_reviews(dash.bot, tmp_path)
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        async with http.get(f"{dash.home}p/reviews") as response:
            assert response.status == 401
        csrf = await signed_in(dash, http)
        status = f"{dash.home}p/reviews/status"
        forged = csrf[:-1] + ("1" if csrf.endswith("0") else "0")  # one character off
        async with http.post(status, data={"status": "paused", "csrf": forged}) as r:
            assert r.status == 403
        async with http.post(status, data={"status": "paused"},
                             headers={"X-CSRF-Token": csrf}) as response:
            assert response.status == 200
    assert (await dash.bot.services.catalog.get("reviews")).status == "paused"
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as other:  # another session
        other_csrf = await signed_in(dash, other)
    assert other_csrf != csrf


async def test_a_request_keeps_its_values_under_typed_keys(
        dash: Dashboard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the guard learns (the reader's language, the operator, the CSRF token) is kept
    under ``web.RequestKey``s: aiohttp warns once per process for each plain string key,
    so its memory of keys seen is emptied first and every warning is caught here (the
    pytest config also turns ``NotAppKeyWarning`` into an error everywhere)."""
    monkeypatch.setattr(web.BaseRequest, "_seen_str_keys", set())
    await load_reviews(dash.bot, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
            async with http.get(f"{dash.home}p/reviews") as response:
                assert response.status == 401
            csrf = await signed_in(dash, http)
            async with http.get(f"{dash.home}p/reviews") as response:
                assert response.status == 200
            async with http.post(f"{dash.home}p/reviews/status", data={
                    "status": "paused", "csrf": csrf}) as response:
                assert response.status == 200
    assert [str(w.message) for w in caught if issubclass(w.category, NotAppKeyWarning)] == []
    # the check itself can fail: a plain string key is heard
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_mocked_request("GET", "/")["plain"] = 1
    assert [w.category for w in caught] == [NotAppKeyWarning]


async def test_suspending_keeps_the_operators_reason(dash: Dashboard, tmp_path: Path
                                                    ) -> None:
    await load_reviews(dash.bot, tmp_path)
    await add_worker(dash.bot.services, 5001)
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        csrf = await signed_in(dash, http)
        url = f"{dash.home}p/reviews/workers/5001"
        async with http.post(url, data={"csrf": csrf, "action": "suspend"}) as response:
            assert response.status == 422  # no reason: nothing changes
        async with http.post(url, data={"csrf": csrf, "action": "suspend",
                                        "reason": "copies <b>answers</b>"}) as response:
            page = await response.text()
        assert "copies &lt;b&gt;answers&lt;/b&gt;" in page  # shown, escaped
    [standing] = await dash.bot.services.workers.standing(5001)
    assert standing.suspended == "operator"
    assert operator_actions(dash.bot.services.db) == [
        (OPERATOR_ID, "suspend", 5001, "copies <b>answers</b>")]


async def test_a_payout_is_rejected_with_the_reason_told_to_the_worker(
        dash: Dashboard) -> None:
    payroll = dash.bot.services.payroll
    await add_worker(dash.bot.services, 5001)
    await payroll.bonus(5001, 200_000, "USD", "thanks", "b1")
    [request] = await payroll.request_payout(5001, "p1")
    assert request.payout is not None
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        csrf = await signed_in(dash, http)
        url = f"{dash.home}payouts/{request.payout.id}"
        async with http.post(url, data={"csrf": csrf, "decision": "reject"}) as response:
            assert response.status == 422
        async with http.post(url, data={"csrf": csrf, "decision": "reject",
                                        "reason": "wrong wallet"}) as response:
            assert "rejected" in await response.text()
        async with http.get(f"{dash.home}payouts.csv") as response:
            sheet = await response.text()
    [payout] = await payroll.payouts("rejected")
    assert payout.reason == "wrong wallet"
    assert sheet.splitlines()[1].endswith(",rejected,"
                                          f"{payout.requested_at},{payout.decided_at},"
                                          "wrong wallet")


async def test_an_export_streams_every_item(dash: Dashboard, tmp_path: Path) -> None:
    """More than one chunk of the bridge and one page of the export."""
    await load_reviews(dash.bot, tmp_path, items=2500)
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        await signed_in(dash, http)
        async with http.get(f"{dash.home}p/reviews/export.jsonl") as response:
            assert response.headers["Content-Disposition"] == \
                'attachment; filename="reviews.jsonl"'
            chunks = [chunk async for chunk in response.content.iter_any()]
    lines = b"".join(chunks).decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [f"i{i}" for i in range(2500)]


async def test_a_broadcast_started_in_the_browser_is_queued_and_shown(
        dash: Dashboard, tmp_path: Path) -> None:
    await load_reviews(dash.bot, tmp_path)
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        csrf = await signed_in(dash, http)
        async with http.post(f"{dash.home}p/reviews/broadcast",
                             data={"csrf": csrf, "text": "x" * 5000}) as response:
            assert response.status == 422  # too long for one message: nothing queued
        assert not await dash.bot.services.insights.broadcasts(
            await dash.bot.services.catalog.get("reviews"))
        # a paid broadcast while the config allows none: refused in the operator's words
        async with http.post(f"{dash.home}p/reviews/broadcast", data={"csrf": csrf, "paid": "1"},
                             headers={"Accept-Language": "ko"}) as response:
            assert response.status == 422
            refusal = await response.text()
        assert "유료" in refusal and "broadcast.allow_paid_broadcast = true" in refusal
        async with http.post(f"{dash.home}p/reviews/broadcast",
                             data={"csrf": csrf, "text": "New reviews wait!"}) as response:
            assert response.status == 200
        async with http.get(f"{dash.home}p/reviews/broadcasts") as response:
            fragment = await response.text()
    [(started, _progress)] = await dash.bot.services.insights.broadcasts(
        await dash.bot.services.catalog.get("reviews"))
    assert started.text == "New reviews wait!"
    assert f"Broadcast #{started.id}:" in fragment


# -- config, language, figures ---------------------------------------------------------------


def test_public_url_is_checked() -> None:
    assert parse_config({"web": {"public_url": "https://x.org/"}}).web.public_url == \
        "https://x.org"
    assert parse_config({"web": {"public_url": "https://x.org"}}).web.secure
    for bad in ("ftp://x.org", "x.org", "https://x.org/?a=1", "https://u:p@x.org"):
        with pytest.raises(ConfigError, match=r"web\.public_url must be"):
            parse_config({"web": {"public_url": bad}})


def test_the_browsers_language_is_read_by_weight() -> None:
    assert accept_language("fr-FR,fr;q=0.9,ko;q=0.8,en;q=0.7") == "ko"
    assert accept_language("en;q=0.2, zh-CN") == "zh"
    assert accept_language("fr") is None


def test_agreement_judges_each_answer_against_the_others() -> None:
    agreement = Agreement(keep=2)
    agreement.add(1, "a", [(1, "pos"), (2, "pos"), (3, "neg")])
    agreement.add(2, "b", [(1, "pos"), (2, " NEG ")])
    agreement.add(3, "c", [(1, "neu")])  # one answer: nothing to agree with
    agreement.add(4, "d", [(1, "x"), (2, "y"), (3, "z")])
    assert agreement.items == 3 and agreement.worker(3) == 0.0
    assert agreement.worker(1) == pytest.approx(1 / 3)  # agrees on a only
    assert [s.ext_id for s in agreement.most_split()] == ["d", "b"]


def test_hourly_rates_are_bucketed_against_the_minimum() -> None:
    counts, labels = rate_buckets([1, 5_000_000, 9_999_999, 10_000_000, 30_000_000],
                                  10_000_000)
    assert counts[0] == 1 and counts[5] == 1 and counts[9] == 1 and counts[10] == 2
    assert labels[-1] == "100+"
