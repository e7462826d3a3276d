"""Downloads: a project's export streamed as it is written (JSONL, CSV, and COCO JSON for
boxes and points projects), payout requests as CSV, and the charts as PNG.

An export is written by the report service on its own thread (``Reports.export``, the
same code as ``tapwork export``), into a file-like bridge whose chunks the event loop
sends on as they come: the first bytes leave at once, memory holds a few chunks, and a
browser that goes away stops the export at its next page. Charts are drawn by
``bot/render/charts.py`` (Pillow, as in chat) on a worker thread.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections import deque
from typing import TextIO, cast

from aiohttp import web

from bot.domain.payout_sheet import payouts_csv
from bot.render.charts import PHONE, WIDE, bar_chart
from handlers.web.dashboard.auth import SERVICES
from handlers.web.dashboard.pages import project_of

#: bytes gathered before a chunk is handed to the loop
CHUNK = 64 * 1024
#: chunks waiting to be sent before the export's thread waits for the browser
WINDOW = 8
#: how often a waiting export thread looks whether the browser went away (seconds)
POLL = 0.5
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv",
                 "coco": "application/json"}
#: the file a download is saved as, by format (COCO is one JSON document)
SUFFIXES = {"jsonl": "jsonl", "csv": "csv", "coco": "coco.json"}


class BrowserGone(Exception):
    """The download was given up: the export's thread stops writing."""


class Bridge(io.TextIOBase):
    """A text file for the export's thread whose bytes reach an aiohttp response."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.buffer = bytearray()
        self.chunks: deque[bytes | None] = deque()
        self.ready = asyncio.Event()
        self.room = threading.Semaphore(WINDOW)
        self.gone = False

    def write(self, text: str) -> int:
        self.buffer += text.encode("utf-8")
        if len(self.buffer) >= CHUNK:
            self._hand_on(bytes(self.buffer))
            self.buffer.clear()
        return len(text)

    def finish(self) -> None:
        """On the export's thread once it returned (or failed): the rest, then the end."""
        if self.buffer and not self.gone:
            self._hand_on(bytes(self.buffer))
        self.loop.call_soon_threadsafe(self._put, None)

    def _hand_on(self, chunk: bytes) -> None:
        while not self.room.acquire(timeout=POLL):
            if self.gone:
                raise BrowserGone
        if self.gone:
            raise BrowserGone
        self.loop.call_soon_threadsafe(self._put, chunk)

    def _put(self, chunk: bytes | None) -> None:
        self.chunks.append(chunk)
        self.ready.set()

    async def send(self, response: web.StreamResponse) -> None:
        """Write chunks to the response until the end mark."""
        while True:
            await self.ready.wait()
            chunk = self.chunks.popleft()
            if not self.chunks:
                self.ready.clear()
            if chunk is None:
                return
            self.room.release()
            await response.write(chunk)


async def export(request: web.Request) -> web.StreamResponse:
    fmt = request.match_info["fmt"]
    if fmt not in CONTENT_TYPES:
        raise web.HTTPNotFound()
    chosen = await project_of(request)
    if fmt == "coco" and not chosen.spec.spatial:  # COCO holds boxes and keypoints only
        raise web.HTTPNotFound()
    reports = request.app[SERVICES].reports
    response = web.StreamResponse(headers={
        "Content-Type": f"{CONTENT_TYPES[fmt]}; charset=utf-8",
        "Content-Disposition":
            f'attachment; filename="{chosen.spec.name}.{SUFFIXES[fmt]}"',
        "Cache-Control": "no-store"})
    await response.prepare(request)
    bridge = Bridge(asyncio.get_running_loop())

    async def run() -> None:
        try:
            await reports.export(chosen.spec.name, cast(TextIO, bridge), fmt)
        finally:
            await asyncio.to_thread(bridge.finish)

    job = asyncio.create_task(run())
    try:
        await bridge.send(response)
        await job  # an error in the export is raised here: the download ends short
    finally:
        bridge.gone = True
        if not job.done():
            job.cancel()
    await response.write_eof()
    return response


async def payouts_sheet(request: web.Request) -> web.Response:
    status = request.query.get("status", "all")
    rows = await request.app[SERVICES].payroll.payouts(None if status == "all" else status)
    return web.Response(text=payouts_csv(rows), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": 'attachment; filename="payouts.csv"',
                                 "Cache-Control": "no-store"})


async def chart(request: web.Request) -> web.Response:
    """``answers``: per hour, the last 24 hours; ``done``: items finished per hour (per
    day past three days); ``rates``: workers by hourly rate, in tenths of ``min_hourly``
    (or of the highest rate when the project has none). ``?size=phone``: the taller
    shape with larger type that a page shows at phone width (``bot.render.charts``)."""
    services = request.app[SERVICES]
    chosen = await project_of(request)
    which = request.match_info["which"]
    if which == "answers":
        _activity, values, hours = await services.reports.activity(chosen)
        labels = [h if i % 3 == 0 else "" for i, h in enumerate(hours)]
    elif which == "done":
        values, labels = done_series((await services.insights.pace(chosen)).done_by_hour)
    elif which == "rates":
        pace = await services.insights.pace(chosen)
        values, labels = rate_buckets(pace.hourly_rates, pace.min_hourly)
    else:
        raise web.HTTPNotFound()
    top = str(max(values)) if any(values) else ""
    shape = PHONE if request.query.get("size") == "phone" else WIDE
    png = await asyncio.to_thread(bar_chart, values, labels, top, shape)
    return web.Response(body=png, content_type="image/png",
                        headers={"Cache-Control": "no-store"})


def done_series(by_hour: list[tuple[str, int]]) -> tuple[list[int], list[str]]:
    """Items done per hour over the hours seen, or per day when they span over 72 hours;
    hours without any are zero bars."""
    from datetime import datetime, timedelta

    if not by_hour:
        return [], []
    first = datetime.fromisoformat(by_hour[0][0])
    last = datetime.fromisoformat(by_hour[-1][0])
    counts = dict(by_hour)
    if (last - first) > timedelta(hours=72):
        days: dict[str, int] = {}
        for hour, count in by_hour:
            days[hour[:10]] = days.get(hour[:10], 0) + count
        ordered = sorted(days.items())[-31:]
        return [c for _d, c in ordered], [d[8:10] for d, _c in ordered]
    span = [first + timedelta(hours=i) for i in range(int((last - first).total_seconds()
                                                           // 3600) + 1)]
    keys = [h.strftime("%Y-%m-%dT%H") for h in span]
    step = max(1, len(keys) // 8)
    return ([counts.get(k, 0) for k in keys],
            [k[11:13] if i % step == 0 else "" for i, k in enumerate(keys)])


def rate_buckets(rates: list[int], floor: int | None) -> tuple[list[int], list[str]]:
    """Workers in ten buckets of a tenth of ``floor`` each (0–10 %, …, 90–100 %) and one
    for at or above it; without a floor, tenths of the highest rate."""
    if not rates:
        return [], []
    unit = floor or max(rates) or 1
    counts = [0] * 11
    for r in rates:
        counts[min(10, r * 10 // unit)] += 1
    labels = [str(i * 10) if i % 2 == 0 else "" for i in range(10)] + ["100+"]
    return counts, labels
