"""The operator dashboard in a real browser: Playwright driving Debian's Chromium
(``/usr/bin/chromium``, headless) against the real bot and its dashboard, both started
by the test on 127.0.0.1.

An operator signs in through the link the bot sends in chat, watches a project's
progress move while simulated phones answer, uploads a bad file and reads its
line-numbered report, downloads an export, approves a payout; expired and reused links
and a change without its CSRF token are refused. Every page is checked with axe-core
(vendored) in the same browser, and screenshots at phone and desktop size are written to
``tests/screenshots/`` for the README.

Without Chromium the tests are skipped, except in CI (``CI`` set), where they fail with
one line saying what to install.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.sim.crowd import answer_tasks, join
from bot.sim.standin import BotApiStandIn
from tests.conftest import ROOT
from tests.dashboard_helpers import Dashboard, dashboard, load_reviews

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "tests" / "screenshots"
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}
AXE = "/dashboard/static/vendor/axe.min.js"

try:
    from playwright.async_api import Browser, Page, async_playwright, expect
except ImportError:  # pragma: no cover - the test extra installs it
    async_playwright = None


def _need_browser() -> None:
    missing = ("playwright is not installed (pip install -e '.[test]')"
               if async_playwright is None else
               f"no Chromium at {CHROMIUM} (apt-get install -y chromium fonts-noto-cjk)"
               if not os.path.exists(CHROMIUM) else None)
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests need a browser: {missing}", pytrace=False)
        pytest.skip(missing)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    _need_browser()
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                           args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def dash(server: BotApiStandIn, tmp_path: Path, clock: FakeClock
               ) -> AsyncIterator[Dashboard]:
    async with dashboard(server, tmp_path, clock) as running_dashboard:
        yield running_dashboard


async def axe_check(page: Page, base: str) -> None:
    """No serious or critical accessibility violation on the page as it is now."""
    await page.add_script_tag(url=base + AXE)
    result: dict[str, Any] = await page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [f"{v['id']} ({v['impact']}): {v['help']} — "
           + "; ".join(n["target"][0] for n in v["nodes"][:3])
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{page.url}:\n" + "\n".join(bad)


async def shoot(page: Page, name: str) -> None:
    """The page at phone size and at desktop size, for the README."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        await page.set_viewport_size(viewport)
        await page.screenshot(path=str(SHOTS / f"dashboard-{name}-{size}.png"),
                              full_page=size == "phone")
    await page.set_viewport_size(DESKTOP)


async def shoot_upload(page: Page, name: str) -> None:
    """The upload section alone at phone size, for the README."""
    await page.set_viewport_size(PHONE)
    section = page.locator("section", has=page.locator("#h-upload"))
    await section.screenshot(path=str(SHOTS / f"dashboard-{name}-phone.png"))
    await page.set_viewport_size(DESKTOP)


async def test_an_operator_runs_a_project_from_the_browser(
        browser: Browser, dash: Dashboard, tmp_path: Path) -> None:
    bot = dash.bot
    await load_reviews(bot, tmp_path, items=3, overlap=3, min_hourly="5.00")
    link = await dash.link_from_chat()
    context = await browser.new_context(viewport=DESKTOP, accept_downloads=True,
                                        locale="en-US")
    page = await context.new_page()
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Projects", level=1)).to_be_visible()
    cookie = next(c for c in await context.cookies() if c["name"] == "tapwork_dashboard")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not cookie["secure"]  # served over http here; https makes it Secure
    await axe_check(page, dash.base)

    await page.get_by_role("link", name="Reviews").click()
    progress = page.get_by_test_id("progress")
    await expect(progress).to_have_text("0 of 3 tasks done")
    # simulated phones answer while the page stays open: the block refreshes itself
    for worker, pick in ((5001, 0), (5002, 0), (5003, 1)):  # the third one disagrees
        phone = bot.server.phone(worker, f"W{worker}")
        await join(phone, "reviews")
        await answer_tasks(phone, lambda _text, labels, pick=pick: labels[pick])
    assert (await bot.services.reports.stats())[0].done == 3
    await expect(progress).to_have_text("3 of 3 tasks done", timeout=10_000)
    await page.reload()  # the charts and money are drawn when the page loads
    await axe_check(page, dash.base)
    await shoot(page, "project")

    # a bad file chosen with the file input: nothing imported, the same line-numbered
    # report as `tapwork import`, shown in the page
    bad = b'{"id": "x1", "text": "fine"}\n{"id": "x1", "text": "again"}\n{"id": "x3"}\n'
    await page.set_input_files("#file", files=[
        {"name": "items.jsonl", "mimeType": "application/x-ndjson", "buffer": bad}])
    await page.get_by_role("button", name="Check and import").click()
    report = page.get_by_test_id("report")
    await expect(report).to_contain_text("line 2")
    await expect(report).to_contain_text("line 3")
    await expect(page.get_by_text("Nothing was imported.")).to_be_visible()
    assert (await bot.services.reports.stats())[0].items == 3
    await axe_check(page, dash.base)
    await shoot_upload(page, "import-report")

    # the export, streamed as a download
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Answers and labels (JSONL)").click()
    download = await waiting.value
    saved = await download.path()
    lines = (await asyncio.to_thread(Path(saved).read_text, "utf-8")).splitlines()
    assert download.suggested_filename == "reviews.jsonl"
    assert [json.loads(line)["id"] for line in lines] == ["i0", "i1", "i2"]
    assert all(len(json.loads(line)["answers"]) == 3 for line in lines)

    for tab in ("Quality", "Workers"):
        await page.get_by_role("link", name=tab, exact=True).click()
        await expect(page.get_by_role("heading", name="Reviews", level=1)).to_be_visible()
        await axe_check(page, dash.base)
        await shoot(page, tab.lower())

    # a payout waiting for the operator: approved from the browser
    payroll = bot.services.payroll
    assert await payroll.bonus(5001, 200_000, "USD", "thanks", "bonus-5001")
    [request] = await payroll.request_payout(5001, "payout-5001")
    assert request.payout is not None
    await page.get_by_role("link", name="Payouts").click()
    await axe_check(page, dash.base)
    await shoot(page, "payouts")
    await page.get_by_role("button", name=f"Approve #{request.payout.id}").click()
    await expect(page.get_by_role("status")).to_have_text(
        f"Payout #{request.payout.id} approved.")
    assert [p.id for p in await payroll.payouts("approved")] == [request.payout.id]
    await context.close()


async def test_the_projects_page_fits_a_phone(browser: Browser, dash: Dashboard,
                                              tmp_path: Path) -> None:
    await load_reviews(dash.bot, tmp_path, items=3)
    context = await browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True,
                                        device_scale_factor=2, locale="ko-KR")
    page = await context.new_page()
    await page.goto(await dash.link_from_chat())
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing wider than the phone: no sideways scrolling
    await axe_check(page, dash.base)
    await page.screenshot(path=str(SHOTS / "dashboard-projects-phone.png"), full_page=True)
    await context.close()


async def test_expired_and_reused_links_are_refused(browser: Browser, dash: Dashboard
                                                    ) -> None:
    page = await (await browser.new_context(locale="en-US")).new_page()
    link = await dash.link_from_chat()
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Projects", level=1)).to_be_visible()
    other = await (await browser.new_context(locale="en-US")).new_page()
    response = await other.goto(link)  # the same link again, in another browser
    assert response is not None and response.status == 403
    await expect(other.get_by_text("already used")).to_be_visible()
    late = await dash.link_from_chat()
    dash.bot.clock.advance(minutes=11)
    response = await other.goto(late)
    assert response is not None and response.status == 403
    await expect(other.get_by_text("has expired")).to_be_visible()
    response = await other.goto(dash.home)  # and neither signed this browser in
    assert response is not None and response.status == 401
    await axe_check(other, dash.base)


async def test_a_change_without_its_csrf_token_is_refused(
        browser: Browser, dash: Dashboard, tmp_path: Path) -> None:
    await load_reviews(dash.bot, tmp_path)
    page = await (await browser.new_context(locale="en-US")).new_page()
    await page.goto(await dash.link_from_chat())
    # the sign-in page moves on to the dashboard by itself: let it, or it cuts off the next
    await page.wait_for_url(dash.home)
    await page.goto(f"{dash.home}p/reviews")
    url = f"{dash.home}p/reviews/status"
    for form in ({"status": "paused"}, {"status": "paused", "csrf": "forged"}):
        response = await page.request.post(url, form=form)  # the signed-in cookie goes too
        assert response.status == 403
        assert "nothing was changed" in await response.text()
    assert (await dash.bot.services.catalog.get("reviews")).status == "open"
    # the page's own form carries the token, so the same change from it goes through
    await page.get_by_role("button", name="Pause the project").click()
    await expect(page.get_by_role("button", name="Open the project again")).to_be_visible()
    assert (await dash.bot.services.catalog.get("reviews")).status == "paused"


#: a file dropped on the upload area, made in the page as a drag from the desktop would
DROP = """([name, text]) => {
  const dropped = new DataTransfer();
  dropped.items.add(new File([text], name, {type: "application/x-ndjson"}));
  const zone = document.querySelector("[data-drop]");
  for (const type of ["dragenter", "dragover", "drop"])
    zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true,
                                            dataTransfer: dropped}));
}"""


async def test_a_dropped_file_is_imported_with_its_progress_and_report(
        browser: Browser, dash: Dashboard, tmp_path: Path) -> None:
    await load_reviews(dash.bot, tmp_path, items=3)
    context = await browser.new_context(viewport=PHONE, has_touch=True, locale="en-US")
    page = await context.new_page()
    await page.goto(await dash.link_from_chat())
    # the sign-in page moves on to the dashboard by itself: let it, or it cuts off the next
    await page.wait_for_url(dash.home)
    await page.goto(f"{dash.home}p/reviews")
    # the file input stays the keyboard's way in: the next stop after the section heading
    await page.get_by_role("heading", name="Add items").click()
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "file"

    rows = "".join(json.dumps({"id": f"n{i}", "text": f"new {i}"}) + "\n"
                   for i in range(1200))
    await page.evaluate(DROP, ["more.jsonl", rows])
    await expect(page.get_by_role("status")).to_have_text("Chosen: more.jsonl")
    assert await page.evaluate("document.getElementById('file').files[0].name") \
        == "more.jsonl"
    said: list[str] = []  # every sentence the progress line showed, in order
    await page.expose_function("heard", lambda text: said.append(text))
    await page.evaluate("""() => new MutationObserver(() =>
        heard(document.getElementById("upload-said").textContent)).observe(
        document.getElementById("upload-said"), {childList: true, characterData: true,
                                                 subtree: true})""")
    await page.get_by_role("button", name="Check and import").click()
    report = page.get_by_test_id("report")
    await expect(report).to_contain_text("more.jsonl imported.")
    await expect(report).to_contain_text("1200 items")
    await expect(page.get_by_text("Imported.", exact=True)).to_be_visible()
    assert (await dash.bot.services.reports.stats())[0].items == 1203
    assert any(s.startswith("Sending more.jsonl: ") for s in said), said
    assert "Checking more.jsonl…" in said, said
    assert not page.url.endswith("/upload")  # the page stayed; nothing navigated
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    await axe_check(page, dash.base)

    # a second drop of the same file: every id is taken, so nothing, line by line
    await page.evaluate(DROP, ["more.jsonl", rows])
    await page.get_by_role("button", name="Check and import").click()
    await expect(page.get_by_text("Nothing was imported.")).to_be_visible()
    await expect(report).to_contain_text("line 1")
    assert (await dash.bot.services.reports.stats())[0].items == 1203
    await context.close()
