"""Boxes and points projects for tests: a project, pictures made with Pillow, imported
through the real import path, and the drawings workers send."""

from __future__ import annotations

import io
import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from bot.domain.projects import parse_project
from bot.wiring import Services

PERSON = [0.2, 0.25, 0.6, 0.9]  # the gold box of picture 0


def boxes_doc(name: str = "people", **extra: object) -> dict[str, object]:
    doc: dict[str, object] = {"name": name, "kind": "boxes", "title": "Mark every person",
                              "reward": "0.05", "currency": "USD", "overlap": 3,
                              "labels": ["person", "bicycle"], "gold_rate": 0.0}
    doc.update(extra)
    return doc


def points_doc(name: str = "shoes", **extra: object) -> dict[str, object]:
    doc: dict[str, object] = {"name": name, "kind": "points", "title": "Mark the shoe",
                              "reward": "0.01", "currency": "CNY", "overlap": 3,
                              "min_points": 2, "max_points": 6, "gold_rate": 0.0}
    doc.update(extra)
    return doc


def picture(width: int = 640, height: int = 480, seed: int = 0) -> bytes:
    """A PNG with a coloured rectangle where ``PERSON`` says (scaled to the picture)."""
    image = Image.new("RGB", (width, height), (150 + 30 * (seed % 4), 220, 235))
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = PERSON
    draw.rectangle([x0 * width, y0 * height, x1 * width, y1 * height], fill=(40, 90, 160))
    draw.ellipse([0.7 * width, 0.1 * height, 0.85 * width, 0.3 * height], fill=(230, 120, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def add_drawn_project(services: Services, folder: Path, doc: dict[str, object],
                            items: int = 3, gold: dict[int, Any] | None = None,
                            size: tuple[int, int] = (640, 480),
                            quiz: Collection[int] = ()) -> None:
    """Save ``doc`` and import ``items`` pictures (``gold``: item number -> drawing;
    ``quiz``: the item numbers that are quiz questions, each needing its gold)."""
    spec = parse_project(doc)
    await services.catalog.save(spec)
    lines = []
    for i in range(items):
        (folder / f"p{i}.png").write_bytes(picture(*size, seed=i))
        line: dict[str, Any] = {"id": f"img-{i}", "image": f"p{i}.png"}
        if gold and i in gold:
            line["gold"] = gold[i]
        if i in quiz:
            line["quiz"] = True
        lines.append(json.dumps(line))
    path = folder / f"{spec.name}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = await services.catalog.import_file(spec.name, path)
    assert result.ok, result


def box(label: str, x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"label": label, "box": [x0, y0, x1, y1]}


TOKEN = "123456:TEST-token-for-the-mini-app"


def drawn_config(folder: Path) -> Any:
    from bot.config import Config, StorageConfig, TelegramConfig, WebConfig
    return Config(telegram=TelegramConfig(token=TOKEN),
                  storage=StorageConfig(path=str(folder / "tapwork.db")),
                  web=WebConfig(public_url="http://127.0.0.1"))


class MiniAppServer:
    """The Mini App on a real aiohttp server at 127.0.0.1, on a port of its own."""

    def __init__(self, services: Services, hook: Any = None, quiz_hook: Any = None) -> None:
        self.services = services
        self.hook = hook
        self.quiz_hook = quiz_hook
        self.runner: Any = None
        self.url = ""

    async def __aenter__(self) -> MiniAppServer:
        from aiohttp import web

        from handlers.web.miniapp import miniapp
        self.runner = web.AppRunner(miniapp(self.services, self.hook, self.quiz_hook))
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()
