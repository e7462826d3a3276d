"""Files in and out of the dashboard over plain HTTP: an items upload as a plain form
post (a page with the report) and as the page's script sends it (JSON lines: progress,
then the report), the COCO download of boxes and points projects, and the charts in
their phone shape."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, CookieJar, FormData
from PIL import Image

from bot.clock import FakeClock
from bot.intake.records import ImportResult
from bot.render.charts import PHONE, WIDE, Shape, bar_chart
from bot.sim.standin import BotApiStandIn
from handlers.web.dashboard import uploads
from tests.dashboard_helpers import Dashboard, dashboard, load_reviews, signed_in
from tests.drawn import PERSON, add_drawn_project, box, boxes_doc, points_doc

NDJSON = {"Accept": "application/x-ndjson"}
BAD = b'{"id": "x1", "text": "fine"}\n{"id": "x1", "text": "again"}\n{"id": "x3"}\n'


@pytest.fixture
async def dash(server: BotApiStandIn, tmp_path: Path, clock: FakeClock
               ) -> AsyncIterator[Dashboard]:
    async with dashboard(server, tmp_path, clock) as running_dashboard:
        yield running_dashboard


def _form(csrf: str | None, data: bytes, name: str = "items.jsonl") -> FormData:
    form = FormData()
    if csrf is not None:
        form.add_field("csrf", csrf)
    form.add_field("file", data, filename=name, content_type="application/x-ndjson")
    return form


async def _items(dash: Dashboard) -> int:
    return (await dash.bot.services.reports.stats())[0].items


async def test_a_plain_form_upload_answers_with_a_page_and_the_script_with_lines(
        dash: Dashboard, tmp_path: Path) -> None:
    await load_reviews(dash.bot, tmp_path)
    url = f"{dash.home}p/reviews/upload"
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        csrf = await signed_in(dash, http)
        async with http.post(url, data=_form(csrf, BAD)) as response:  # no script
            assert response.status == 422
            assert response.content_type == "text/html"
            page = await response.text()
        assert "line 2: duplicate id &#39;x1&#39;" in page and "Nothing was imported." in page
        async with http.post(url, data=_form(csrf, BAD), headers=NDJSON) as response:
            assert response.status == 200
            assert response.content_type == "application/x-ndjson"
            lines = [json.loads(line) for line in (await response.text()).splitlines()]
        assert lines[-1]["done"] and not lines[-1]["ok"]
        assert lines[-1]["heading"] == "Nothing was imported."
        assert "line 2: duplicate id 'x1'" in lines[-1]["report"]
        assert "line 3" in lines[-1]["report"]
        good = b'{"id": "n1", "text": "new"}\n'
        async with http.post(url, data=_form(csrf, good), headers=NDJSON) as response:
            last = json.loads((await response.text()).splitlines()[-1])
        assert last["ok"] and last["heading"] == "Imported."
        assert last["report"].startswith("items.jsonl imported.")
        async with http.post(url, data=_form(None, good), headers=NDJSON) as response:
            assert response.status == 403  # no CSRF token: nothing read, nothing imported
    assert await _items(dash) == 4


async def test_the_lines_checked_are_streamed_while_the_import_runs(
        dash: Dashboard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The import reports its lines as it goes; each report reaches the browser as a
    line before the final one (the import here pauses between batches on the loop, so
    the stream's ``TICK`` comes round while it runs)."""
    await load_reviews(dash.bot, tmp_path)
    catalog = dash.bot.services.catalog
    real = catalog.import_bytes

    async def slow(name: str, data: bytes, filename: str,
                   progress: Callable[[int], None] | None = None) -> ImportResult:
        assert progress is not None
        for lines in (100, 200):  # below the real import's first report, 500
            progress(lines)
            await asyncio.sleep(uploads.TICK * 3)
        return await real(name, data, filename, progress)

    monkeypatch.setattr(catalog, "import_bytes", slow)
    rows = "".join(json.dumps({"id": f"n{i}", "text": f"new {i}"}) + "\n"
                   for i in range(1200)).encode()
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        csrf = await signed_in(dash, http)
        async with http.post(f"{dash.home}p/reviews/upload", data=_form(csrf, rows),
                             headers=NDJSON) as response:
            assert response.headers["X-Accel-Buffering"] == "no"
            lines = [json.loads(line) async for line in response.content]
    checked = [line["checked"] for line in lines if "checked" in line]
    assert checked[:2] == [100, 200] and checked == sorted(checked)
    assert checked[-1] <= 1200  # the real import's reports may come too, not beyond
    assert lines[-1]["ok"] and "1200 items" in lines[-1]["report"]
    assert await _items(dash) == 1203


async def test_a_file_over_the_limit_is_refused_before_it_is_read_whole(
        dash: Dashboard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await load_reviews(dash.bot, tmp_path)
    monkeypatch.setattr(uploads, "UPLOAD_LIMIT", 1000)
    rows = b'{"id": "n1", "text": "' + b"x" * 2000 + b'"}\n'
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        csrf = await signed_in(dash, http)
        async with http.post(f"{dash.home}p/reviews/upload", data=_form(csrf, rows),
                             headers=NDJSON) as response:
            assert response.status == 413
            [last] = [json.loads(line) for line in (await response.text()).splitlines()]
    assert not last["ok"] and "larger than" in last["report"]
    assert await _items(dash) == 3


def _coco_link(page: str) -> bool:
    return "/export.coco" in page


async def _get(http: ClientSession, url: str) -> tuple[int, str, Any]:
    async with http.get(url) as response:
        return response.status, response.headers.get("Content-Disposition", ""), \
            await response.read()


async def test_coco_is_offered_and_served_for_boxes_and_points_only(
        dash: Dashboard, tmp_path: Path) -> None:
    services = dash.bot.services
    await load_reviews(dash.bot, tmp_path)
    await add_drawn_project(services, tmp_path, boxes_doc(), items=2,
                            gold={0: [box("person", *PERSON)]})
    await add_drawn_project(services, tmp_path, points_doc(), items=1)
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        await signed_in(dash, http)
        pages = {}
        for name in ("reviews", "people", "shoes"):
            async with http.get(f"{dash.home}p/{name}") as response:
                assert response.status == 200
                pages[name] = await response.text()
        assert "Merged boxes (COCO JSON)" in pages["people"]
        assert "Merged points as keypoints (COCO JSON)" in pages["shoes"]
        assert not _coco_link(pages["reviews"])
        status, disposition, body = await _get(http, f"{dash.home}p/people/export.coco")
        assert status == 200
        assert disposition == 'attachment; filename="people.coco.json"'
        coco = json.loads(body)
        assert [c["name"] for c in coco["categories"]] == ["person", "bicycle"]
        assert sorted(i["tapwork_id"] for i in coco["images"]) == ["img-0", "img-1"]
        status, _disposition, body = await _get(http, f"{dash.home}p/shoes/export.coco")
        assert status == 200 and json.loads(body)["categories"][0]["keypoints"]
        status, _disposition, _body = await _get(http, f"{dash.home}p/reviews/export.coco")
        assert status == 404  # a sentiment project has no boxes to give


def _label_runs(png: bytes, shape: Shape) -> list[tuple[int, int]]:
    """The x ranges of ink in the band under the axis (one per axis label drawn),
    glyphs of one label closer than a third of the type size joined."""
    with Image.open(io.BytesIO(png)) as image:
        pixels = image.convert("L").load()
        top = shape.height - shape.type_size * 3 + shape.type_size // 3
        inked = [x for x in range(shape.width)
                 if any(pixels[x, y] < 200 for y in range(top, shape.height))]
    runs: list[tuple[int, int]] = []
    for x in inked:
        if runs and x - runs[-1][1] <= shape.type_size // 3:
            runs[-1] = (runs[-1][0], x)
        else:
            runs.append((x, x))
    return runs


def test_the_phone_chart_is_taller_with_larger_type_and_labels_that_never_touch() -> None:
    days = [f"{d:02d}" for d in range(1, 32)]
    values = list(range(31))
    wide, phone = bar_chart(values, days, "30"), bar_chart(values, days, "30", PHONE)
    with Image.open(io.BytesIO(phone)) as image:
        assert image.size == (720, 640)
    for png, shape in ((wide, WIDE), (phone, PHONE)):
        runs = _label_runs(png, shape)
        gaps = [b[0] - a[1] for a, b in pairwise(runs)]
        assert 3 <= len(runs) < 31  # thinned out, the first kept
        assert min(gaps) >= shape.type_size // 3
    # at the width a 360 px phone leaves (330 px), a digit of the phone chart is about
    # as tall as the page's small print; the wide chart's would be a third smaller
    assert PHONE.type_size * 330 / PHONE.width > 16
    assert WIDE.type_size * 330 / WIDE.width < 8


async def test_a_chart_comes_in_the_phone_shape_when_asked(dash: Dashboard,
                                                         tmp_path: Path) -> None:
    await load_reviews(dash.bot, tmp_path)
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        await signed_in(dash, http)
        sizes = {}
        for query in ("", "?size=phone"):
            async with http.get(f"{dash.home}p/reviews/chart/answers.png{query}") as r:
                with Image.open(io.BytesIO(await r.read())) as image:
                    sizes[query] = image.size
        async with http.get(f"{dash.home}p/reviews") as response:
            page = await response.text()
    assert sizes == {"": (800, 450), "?size=phone": (720, 640)}
    assert 'srcset="/dashboard/p/reviews/chart/answers.png?size=phone"' in page
