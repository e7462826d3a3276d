"""Items files uploaded from the dashboard: checked and imported whole or not at all,
then the same line-numbered report as ``tapwork import``.

Two ways in, one import (``catalog.import_bytes``, the loader the chat and the command
line use):

- a plain form post (no script, or a browser that refuses it) gets the report as a page;
- the page's script (``static/dashboard.js``) sends the same form by
  ``XMLHttpRequest``, showing the bytes sent as they go, and asks for
  ``application/x-ndjson``: the answer is then a stream of JSON lines, ``{"checked": N}``
  while the file's lines are checked and written (every ``PROGRESS_EVERY`` lines, at most
  every ``TICK`` seconds), and last ``{"done": true, "ok": …, "heading": …, "report": …}``.

The progress comes back on the upload's own connection rather than through a job to
poll, so nothing is kept per upload, and several bot replicas behind one address need
not share anything about it. ``X-Accel-Buffering: no`` asks nginx to pass the lines on as
they come. An import keeps going when the browser goes away half way: it is all or
nothing and finishes on its own, and the next page shows its items.
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import BodyPartReader, web

from bot.i18n import Gettext
from bot.intake.importer import format_report
from bot.intake.loader import ImportFailed
from bot.intake.records import ImportResult
from handlers.web.dashboard.auth import CSRF_FIELD, SERVICES, csrf_ok, refused_csrf
from handlers.web.dashboard.pages import UPLOAD_LIMIT, project_of, too_large
from handlers.web.dashboard.render import READER, page

log = logging.getLogger(__name__)

#: what the page's script asks for to get the import's progress as it goes
NDJSON = "application/x-ndjson"
#: the longest wait between two progress lines while lines are being checked (seconds)
TICK = 0.5
#: imports whose browser went away, kept referenced until they finish
RUNNING = web.AppKey("tapwork_imports", set[asyncio.Task[ImportResult]])


def wants_stream(request: web.Request) -> bool:
    return NDJSON in request.headers.get("Accept", "")


async def upload(request: web.Request) -> web.StreamResponse:
    """An items file from the browser: the report as a page, or as the last of a
    stream of progress lines (``wants_stream``)."""
    _ = request[READER]
    chosen = await project_of(request)
    name = chosen.spec.name
    reader = await request.multipart()
    first = await reader.next()
    if not isinstance(first, BodyPartReader) or first.name != CSRF_FIELD \
            or not csrf_ok(request, (await first.read()).decode("utf-8", "replace")):
        return refused_csrf(request)
    part = await reader.next()
    if not isinstance(part, BodyPartReader) or part.name != "file" or not part.filename:
        return _report(request, name, _("Choose a file to upload."), False)
    data = bytearray()
    while chunk := await part.read_chunk(256 * 1024):
        data += chunk
        if len(data) > UPLOAD_LIMIT:
            return _report(request, name, too_large(_), False, status=413)
    if wants_stream(request):
        return await _streamed(request, name, bytes(data), part.filename)
    try:
        result = await request.app[SERVICES].catalog.import_bytes(name, bytes(data),
                                                                  part.filename)
    except ImportFailed as exc:  # not the file's lines: busy, or the database is full
        return _report(request, name, _stopped(part.filename, exc, _), False, status=503)
    return _report(request, name, format_report(result, reader=_), result.ok,
                   status=200 if result.ok else 422)


def _stopped(filename: str, exc: ImportFailed, _: Gettext) -> str:
    return (_("{file}: the import stopped.", file=filename) + "\n"
            + _(exc.message, **exc.params))


def _final(ok: bool, report: str, _: Gettext) -> dict[str, object]:
    return {"done": True, "ok": ok, "report": report,
            "heading": _("Imported.") if ok else _("Nothing was imported.")}


def _line(value: dict[str, object]) -> bytes:
    return (json.dumps(value, ensure_ascii=False) + "\n").encode("utf-8")


def _report(request: web.Request, name: str, text: str, ok: bool,
            status: int = 200) -> web.Response:
    _ = request[READER]
    if wants_stream(request):
        return web.Response(body=_line(_final(ok, text, _)), status=status,
                            content_type=NDJSON, charset="utf-8",
                            headers={"Cache-Control": "no-store"})
    return page(request, "import_report.html", _, name=name, report=text, ok=ok,
                status=status)


async def _streamed(request: web.Request, name: str, data: bytes, filename: str
                    ) -> web.StreamResponse:
    """The import, with a line of progress whenever more lines were checked."""
    _ = request[READER]
    loop = asyncio.get_running_loop()
    checked = {"lines": 0}

    def progress(lines: int) -> None:  # on the import's worker thread
        loop.call_soon_threadsafe(checked.__setitem__, "lines", lines)

    job = asyncio.create_task(request.app[SERVICES].catalog.import_bytes(
        name, data, filename, progress))
    running = request.app[RUNNING]
    running.add(job)
    job.add_done_callback(running.discard)
    response = web.StreamResponse(headers={
        "Content-Type": f"{NDJSON}; charset=utf-8", "Cache-Control": "no-store",
        "X-Accel-Buffering": "no"})
    await response.prepare(request)
    shown = 0
    try:
        while not job.done():
            await asyncio.wait({job}, timeout=TICK)
            if checked["lines"] != shown:
                shown = checked["lines"]
                await response.write(_line({"checked": shown}))
        try:
            result = job.result()
        except ImportFailed as exc:
            last = _final(False, _stopped(filename, exc, _), _)
        else:
            last = _final(result.ok, format_report(result, reader=_), _)
        await response.write(_line(last))
        await response.write_eof()
    except ConnectionResetError:  # the browser went away; the import goes on
        log.info("the browser left an import into %s before it ended", name)
    return response
