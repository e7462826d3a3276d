"""Pages as HTML: one Jinja2 environment, the operator's language, numbers and money as
the chat shows them.

Jinja2 (Pallets, the same family as MarkupSafe, which already escapes every chat
message) escapes every value unless marked safe, so an item's text or a worker's name
can never become markup. Words come from the same gettext catalogs as the chat
(``bot.i18n``): templates call ``_()``, which ``python -m bot.translations`` extracts
from them too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.domain.money import format_money, format_rate
from bot.i18n import LANGUAGES, Gettext, gettext_for, language_name

TEMPLATES = Path(__file__).with_name("templates")
#: the dashboard's own address inside the shared web server
PREFIX = "/dashboard"

#: what the sign-in guard (``auth.guard``) learns about a request, for the pages after it:
#: typed keys, so each handler gets the type it expects (aiohttp warns on plain strings)
READER = web.RequestKey("tapwork_reader", Gettext)
SIGNED_IN = web.RequestKey[int | None]("tapwork_operator")
CSRF = web.RequestKey("tapwork_csrf", str)

ENV = Environment(loader=FileSystemLoader(TEMPLATES),
                  autoescape=select_autoescape(default=True, default_for_string=True),
                  trim_blocks=True, lstrip_blocks=True)


def accept_language(header: str) -> str | None:
    """The first of en/ko/zh a browser's ``Accept-Language`` asks for, by its weights."""
    wanted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        code, _sep, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        base = code.strip().lower().split("-")[0]
        if base in LANGUAGES and weight > 0:
            wanted.append((-weight, position, base))
    return min(wanted)[2] if wanted else None


def page(request: web.Request, template: str, _: Gettext, status: int = 200,
         **values: Any) -> web.Response:
    """A whole page (or a fragment: templates starting with ``_``)."""
    html = ENV.get_template(template).render(
        _=_, lang=_.language, prefix=PREFIX, csrf=request.get(CSRF, ""),
        operator=request.get(SIGNED_IN), number=lambda n: number(n, _),
        percent=lambda share: percent(share, _), money=lambda m, c: money(m, c, _),
        rate=lambda m, c: rate(m, c, _),
        language=lambda code: language_name(code, _.language) if code else _("no language"),
        **values)
    response = web.Response(text=html, status=status, content_type="text/html",
                            charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def number(value: float | int | None, _: Gettext) -> str:
    return "–" if value is None else format_decimal(value, locale=_.language)


def percent(share: float | None, _: Gettext) -> str:
    return "–" if share is None else format_percent(share, locale=_.language)


def money(micros: int | None, currency: str, _: Gettext) -> str:
    return "–" if micros is None else format_money(micros, currency, _.language)


def rate(micros: int | None, currency: str, _: Gettext) -> str:
    return "–" if micros is None else format_rate(micros, currency, _.language)


def gettext(language: str) -> Gettext:
    return gettext_for(language)
