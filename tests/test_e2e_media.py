"""End to end with media: photos for classification, voice notes for transcription."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from PIL import Image

from bot.domain.projects import parse_project
from bot.sim.crowd import answer_tasks, join, open_task, task_id
from tests.conftest import Running
from tests.state import assignments
from tests.waiting import eventually


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (1600, 900)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def _voice(n: int) -> bytes:
    """Enough of an Ogg/Opus header for the importer to call it a voice note."""
    return b"OggS" + bytes(24) + b"OpusHead" + bytes([1, 1]) + bytes(8) + bytes([n]) * 64


def _zip(path: Path, items: list[dict[str, object]], files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("items.jsonl", "".join(json.dumps(i) + "\n" for i in items))
        for name, data in files.items():
            archive.writestr(name, data)
    return path


async def test_classification_with_photos_uploads_each_image_once(bot: Running,
                                                                   tmp_path: Path) -> None:
    spec = parse_project({
        "name": "fruit", "kind": "classification", "title": "Which fruit?",
        "reward": "0.05", "currency": "CNY", "overlap": 2,
        "labels": [{"value": "apple", "names": {"en": "Apple", "zh": "苹果"}},
                   {"value": "banana", "names": {"en": "Banana", "zh": "香蕉"}}]})
    await bot.services.catalog.save(spec)
    colours = {"a": (200, 30, 30), "b": (230, 220, 40), "c": (190, 40, 40)}
    archive = _zip(tmp_path / "fruit.zip",
                   [{"id": k, "image": f"img/{k}.png"} for k in colours],
                   {f"img/{k}.png": _png(c) for k, c in colours.items()})
    result = await bot.services.catalog.import_file("fruit", archive)
    assert result.ok, result.errors
    await bot.services.broadcasts.notify_events()  # before anyone joins: nobody to tell

    def choose(text: str, buttons: list[str]) -> str:
        return buttons[0]

    first, second = bot.server.phone(61, "Li", language_code="zh"), bot.server.phone(62, "Ann")
    task = await join(first, "fruit")
    assert task.get("photo") and task["photo"][-1]["width"] <= 1280  # resized at import
    assert first.buttons(task)[0] == ["苹果"]
    photo_message = task["message_id"]
    assert await answer_tasks(first, choose) == 3
    assert first.last is not None and first.last["message_id"] != photo_message
    # every task after the first replaced the photo in place
    assert sum(1 for m in first.messages if m.get("photo")) == 1
    await join(second, "fruit")
    assert await answer_tasks(second, choose) == 3
    assert bot.server.uploads == 3  # each picture uploaded once, then its file_id reused
    assert bot.server.reuses >= 3


async def test_transcription_with_voice_notes(bot: Running, tmp_path: Path) -> None:
    spec = parse_project({"name": "speech", "kind": "transcription", "title": "Type it",
                          "reward": "0.10", "currency": "USD", "overlap": 1,
                          "language": "en"})
    await bot.services.catalog.save(spec)
    archive = _zip(tmp_path / "speech.zip",
                   [{"id": f"v{i}", "audio": f"v{i}.ogg"} for i in range(3)],
                   {f"v{i}.ogg": _voice(i) for i in range(3)})
    result = await bot.services.catalog.import_file("speech", archive)
    assert result.ok, result.errors
    await bot.services.broadcasts.notify_events()
    phone = bot.server.phone(71, "Sam")
    task = await join(phone, "speech")
    assert task.get("voice") is not None
    assert ["🤷 I can't make it out"] in phone.buttons(task)
    reply = await phone.send("Hello,   World")
    nxt = await phone.wait_for(lambda p: open_task(p) if task_id(p.last) != task_id(task)
                               else None)
    assert nxt.get("voice") is not None and "✓ Saved" in (phone.text(nxt) or "")
    bot.server.replay(reply)  # the same message delivered twice counts once
    await phone.tap("🤷 I can't make it out", nxt)
    final = await phone.wait_for(lambda p: open_task(p) if task_id(p.last) != task_id(nxt)
                                 else None)
    await phone.send("last one")
    await phone.wait_text("every task in this project")
    out = io.StringIO()
    await bot.services.reports.export("speech", out)
    values = {json.loads(line)["id"]: [a["value"] for a in json.loads(line)["answers"]]
              for line in out.getvalue().splitlines()}
    assert values == {"v0": ["Hello, World"], "v1": [""], "v2": ["last one"]}
    assert final is not None


async def test_a_task_that_cannot_replace_the_last_one_is_recorded_where_it_landed(
        bot: Running, tmp_path: Path) -> None:
    """A text task is edited into the message of the one before, and recorded there in the
    answer's own transaction; a photo after a text cannot be, so it arrives as a new
    message and its delivery is written again with that message's id."""
    spec = parse_project({
        "name": "mixed", "kind": "classification", "title": "Which fruit?",
        "reward": "0.05", "currency": "USD", "overlap": 1,
        "labels": [{"value": "apple"}, {"value": "banana"}]})
    await bot.services.catalog.save(spec)
    archive = _zip(tmp_path / "mixed.zip",
                   [{"id": "t1", "text": "a yellow curved fruit"},
                    {"id": "t2", "text": "a red round fruit"},
                    {"id": "p1", "image": "img/p1.png"}],
                   {"img/p1.png": _png((200, 30, 30))})
    result = await bot.services.catalog.import_file("mixed", archive)
    assert result.ok, result.errors
    await bot.services.broadcasts.notify_events()
    phone = bot.server.phone(71, "Mia")
    first = await join(phone, "mixed")
    text_message = first["message_id"]

    async def shown_in() -> tuple[int | None, int | None, str | None]:
        task = await bot.services.work.current(71)
        assert task is not None
        [row] = [a for a in assignments(bot.services.db) if a.id == task.assignment_id]
        return row.chat_id, row.message_id, row.delivered_at

    first_task = task_id(first)
    await phone.tap("apple", first)
    second = await phone.wait_for(lambda p: open_task(p) if task_id(open_task(p)) not in
                                  (None, first_task) else None)
    assert second["message_id"] == text_message and "text" in second  # edited in place
    chat, message, delivered = await shown_in()
    assert (chat, message) == (71, text_message) and delivered is not None
    await phone.tap("banana", second)
    photo = await phone.wait_for(lambda p: p.last if p.last and p.last.get("photo") else None)
    assert photo["message_id"] != text_message  # a text cannot turn into a photo
    async def photo_shown() -> tuple[int | None, int | None, str | None] | None:
        shown = await shown_in()
        return shown if shown[1] == photo["message_id"] else None

    shown = await eventually(photo_shown)
    assert shown is not None
    chat, message, delivered = shown
    assert (chat, message) == (71, photo["message_id"]) and delivered is not None
