"""The Mini App in a real browser: Debian's Chromium, headless, as a phone with a touch
screen. A worker opens a box task with initData signed by the test's bot token, draws
a box with a finger, resizes it by its handle, sends it, and the answer is in the export
exactly once; forged initData is refused; axe-core finds no serious or critical
accessibility problem; screenshots at phone size go to tests/screenshots/.

Playwright drives /usr/bin/chromium (``apt-get install chromium`` in .ci/run);
Playwright's own browser download is never used. Without that browser these tests are
skipped, except in CI (``CI`` set), where they fail with one line saying so.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.aggregation.geometry import Box, iou
from bot.clock import FakeClock
from bot.wiring import Services
from tests.conftest import ROOT, add_worker
from tests.drawn import (
    PERSON,
    TOKEN,
    MiniAppServer,
    add_drawn_project,
    boxes_doc,
    drawn_config,
    points_doc,
)
from tests.state import answered

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "handlers" / "web" / "static" / "vendor" / "axe.min.js"
SHOTS = ROOT / "tests" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 760}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}
DARK = {"bg_color": "#17212b", "text_color": "#f5f5f5", "hint_color": "#aab4be",
        "button_color": "#3d8ee0", "button_text_color": "#0b1016",
        "secondary_bg_color": "#232e3c"}


def _browser_or_skip() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail("/usr/bin/chromium is missing: .ci/run must `apt-get install -y chromium "
                    "fonts-noto-cjk` before the tests", pytrace=False)
    pytest.skip("no /usr/bin/chromium here (apt-get install chromium)")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    _browser_or_skip()
    from playwright.async_api import async_playwright
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def drawn(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Services]:
    services = await Services.open(drawn_config(tmp_path), clock)
    try:
        yield services
    finally:
        await services.close()


async def _phone(browser: Any, **extra: Any) -> Any:
    """A phone's browser context that reaches nothing beyond this machine (Telegram's
    script is refused: the page must work without it)."""
    context = await browser.new_context(**PHONE, **extra)

    async def local_only(route: Any) -> None:
        if route.request.url.startswith("http://127.0.0.1"):
            await route.continue_()
        else:
            await route.abort()

    await context.route("**/*", local_only)
    return context


def _url(server: MiniAppServer, assignment: int, init_data: str, lang: str = "en",
         theme: dict[str, str] | None = None) -> str:
    fragment = f"tgWebAppData={quote(init_data)}"
    if theme:
        fragment += f"&tgWebAppThemeParams={quote(json.dumps(theme))}"
    return f"{server.url}/app/task/{assignment}?lang={lang}#{fragment}"


async def _touch(cdp: Any, kind: str, points: list[tuple[float, float]]) -> None:
    await cdp.send("Input.dispatchTouchEvent", {
        "type": kind, "touchPoints": [{"x": x, "y": y, "id": i}
                                      for i, (x, y) in enumerate(points)]})


async def _drag(cdp: Any, start: tuple[float, float], end: tuple[float, float],
                steps: int = 8) -> None:
    """One finger from ``start`` to ``end``, in ``steps`` moves."""
    await _touch(cdp, "touchStart", [start])
    for i in range(1, steps + 1):
        t = i / steps
        await _touch(cdp, "touchMove", [(start[0] + (end[0] - start[0]) * t,
                                         start[1] + (end[1] - start[1]) * t)])
    await _rest(cdp, end)


async def _rest(cdp: Any, *points: tuple[float, float]) -> None:
    """Fingers stop before they lift, as a person's do: lifted while still moving they
    would start a fling, and Chromium spends the next tap on stopping it."""
    for _ in range(3):
        await _touch(cdp, "touchMove", list(points))
        await asyncio.sleep(0.05)
    await _touch(cdp, "touchEnd", [])


async def _axe(page: Any) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def test_a_box_drawn_by_touch_is_sent_once_and_exported(
        browser: Any, drawn: Services, clock: FakeClock, tmp_path: Path) -> None:
    from handlers.web.initdata import signed_for
    await add_drawn_project(drawn, tmp_path, boxes_doc(), items=2, size=(800, 600))
    for worker in (1, 2):
        await add_worker(drawn, worker)
    served = await drawn.work.start(1, "people")
    assert served.task is not None
    a = served.task.assignment_id
    async with MiniAppServer(drawn) as server:
        context = await _phone(browser, bypass_csp=False)
        page = await context.new_page()
        await page.goto(_url(server, a, signed_for(1, TOKEN, clock.now())))
        await page.wait_for_selector("main[data-ready=true]")
        picture = await page.locator("#picture").bounding_box()
        x0, y0, x1, y1 = PERSON

        def at(x: float, y: float) -> tuple[float, float]:
            return picture["x"] + x * picture["width"], picture["y"] + y * picture["height"]

        cdp = await context.new_cdp_session(page)
        # drawn a little short of the person's bottom-right corner ...
        await _drag(cdp, at(x0, y0), at(x1 - 0.12, y1 - 0.15))
        assert await page.locator("#overlay rect.box").count() == 1
        # ... then its handle is dragged out to the corner
        await _drag(cdp, at(x1 - 0.12, y1 - 0.15), at(x1, y1))
        assert await page.locator("#overlay circle.handle").count() == 4
        handle = await page.locator("#overlay circle.handle").first.bounding_box()
        assert handle["width"] >= 26  # drawn 26 px across, grabbed within 30 px
        await page.screenshot(path=str(SHOTS / "miniapp-boxes.png"))
        await page.tap("#submit")
        await page.wait_for_selector("main[data-sent=true]", timeout=5000)
        assert "Saved" in await page.locator("#status").inner_text()
        # tapping Send again, or replaying the request, changes nothing
        status = await page.evaluate(f"""fetch('/app/task/{a}/answer', {{method: 'POST',
            headers: {{Authorization: 'tma ' + {json.dumps(signed_for(1, TOKEN, clock.now()))}}},
            body: JSON.stringify({{drawing: []}})}}).then(r => r.status)""")
        assert status == 409
        # forged initData: the page says so, and a request with it is refused
        forged = signed_for(2, TOKEN, clock.now()).replace("hash=", "hash=0")
        other = await context.new_page()
        served2 = await drawn.work.start(2, "people")
        assert served2.task is not None
        await other.goto(_url(server, served2.task.assignment_id, forged))
        # waited for from outside the page: its Content-Security-Policy forbids the eval
        # a string predicate needs
        from playwright.async_api import expect

        await expect(other.locator("#status")).to_contain_text("could not prove who you are")
        status = await other.evaluate(f"""fetch('/app/task/{served2.task.assignment_id}/answer',
            {{method: 'POST', headers: {{Authorization: 'tma ' + {json.dumps(forged)}}},
            body: JSON.stringify({{drawing: []}})}}).then(r => r.status)""")
        assert status == 401
        await context.close()
    rows = answered(drawn.db)
    assert [r.worker_id for r in rows] == [1]
    import io
    out = io.StringIO()
    await drawn.reports.export("people", out, "jsonl")
    exported = [json.loads(line) for line in out.getvalue().splitlines()]
    answers = [a for item in exported for a in item["answers"]]
    assert len(answers) == 1
    (drawn_box,) = answers[0]["value"]
    assert drawn_box["label"] == "person"
    assert iou(Box("person", *drawn_box["box"]), Box("person", *PERSON)) > 0.9


async def test_pinch_zoom_points_in_korean_and_accessibility(
        browser: Any, drawn: Services, clock: FakeClock, tmp_path: Path) -> None:
    from handlers.web.initdata import signed_for
    await add_drawn_project(drawn, tmp_path, points_doc(ordered=True), items=1,
                            size=(800, 600))
    await add_drawn_project(drawn, tmp_path, boxes_doc("bikes"), items=1, size=(800, 600))
    await add_worker(drawn, 1)
    await add_worker(drawn, 2)
    served = await drawn.work.start(1, "shoes")
    boxes = await drawn.work.start(2, "bikes")
    assert served.task is not None and boxes.task is not None
    async with MiniAppServer(drawn) as server:
        # axe needs its script in the page, which the page's own CSP forbids
        context = await _phone(browser, bypass_csp=True, locale="ko-KR")
        page = await context.new_page()
        init = signed_for(1, TOKEN, clock.now(), "ko")
        await page.goto(_url(server, served.task.assignment_id, init, "ko"))
        await page.wait_for_selector("main[data-ready=true]")
        picture = await page.locator("#picture").bounding_box()
        cdp = await context.new_cdp_session(page)
        for x, y in ((0.3, 0.4), (0.5, 0.45), (0.7, 0.5)):
            await page.touchscreen.tap(picture["x"] + x * picture["width"],
                                       picture["y"] + y * picture["height"])
        assert await page.locator("#overlay circle.point").count() == 3
        # two fingers spread apart: the picture grows
        cx, cy = picture["x"] + picture["width"] / 2, picture["y"] + picture["height"] / 2
        await _touch(cdp, "touchStart", [(cx - 40, cy), (cx + 40, cy)])
        for step in range(1, 6):
            await _touch(cdp, "touchMove", [(cx - 40 - 12 * step, cy),
                                            (cx + 40 + 12 * step, cy)])
        await _rest(cdp, (cx - 100, cy), (cx + 100, cy))
        zoomed = await page.locator("#picture").bounding_box()
        assert zoomed["width"] > picture["width"] * 1.5
        assert await page.locator("#overlay circle.point").count() == 3  # no stray point
        await page.tap("#zoom-reset")
        await page.tap("#undo")
        assert await page.locator("#overlay circle.point").count() == 2
        assert "되돌리기" in await page.locator("#undo").inner_text()
        await page.screenshot(path=str(SHOTS / "miniapp-points-ko.png"))
        assert await _axe(page) == []
        # the boxes page in Telegram's dark theme, in Chinese
        dark = await context.new_page()
        init2 = signed_for(2, TOKEN, clock.now(), "zh")
        await dark.goto(_url(server, boxes.task.assignment_id, init2, "zh", DARK))
        await dark.wait_for_selector("main[data-ready=true]")
        picture = await dark.locator("#picture").bounding_box()
        cdp2 = await context.new_cdp_session(dark)
        await _drag(cdp2, (picture["x"] + 0.68 * picture["width"],
                           picture["y"] + 0.08 * picture["height"]),
                    (picture["x"] + 0.87 * picture["width"],
                     picture["y"] + 0.32 * picture["height"]))
        await dark.tap("#labels button:nth-child(2)")
        assert await dark.locator("#overlay text").text_content() == "bicycle"
        await dark.screenshot(path=str(SHOTS / "miniapp-boxes-dark-zh.png"))
        assert await _axe(dark) == []
        await context.close()
