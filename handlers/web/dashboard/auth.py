"""Who is signed in to the dashboard, and proof that a change comes from its own pages.

**Sessions** are a signed cookie, not a server-side table: itsdangerous (Pallets, the
Flask family) signs ``{operator, session id, expiry}`` with HMAC-SHA256 and compares
signatures in constant time; we chose it over a hand-rolled ``hmac`` wrapper because it
also gets the encoding, the salting per purpose and key rotation right. The expiry is
written in by the application's clock (``bot.clock``) and checked against it, so tests
can move time. The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no
other site's page sends it) and ``Secure`` when ``web.public_url`` is https. Every
request also checks that the operator is still in ``[operators] ids``.

**CSRF**: each session has its own token, an HMAC of its session id, sent in every form
(``csrf``) or in the ``X-CSRF-Token`` header, and compared with ``hmac.compare_digest``.
A request that changes anything without it is refused with 403 before it runs.

The signing key is derived from the bot token (an HMAC of a fixed label), so nothing
new needs configuring and a new token signs every session out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from itsdangerous import BadSignature, URLSafeSerializer

from bot.clock import from_iso, to_iso
from bot.services.signin import Refusal, SignedIn
from bot.wiring import Services
from handlers.web.dashboard.render import (
    CSRF,
    PREFIX,
    READER,
    SIGNED_IN,
    accept_language,
    gettext,
    page,
)

COOKIE = "tapwork_dashboard"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
SERVICES = web.AppKey("services", Services)
#: paths open without a session: signing in, and the stylesheet of the refusal pages
OPEN = ("/login", "/static/")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def secret_for(services: Services) -> bytes:
    token = services.config.telegram.token
    if not token:  # no token (a test's bare config): sessions last as long as the process
        return secrets.token_bytes(32)
    return hmac.new(token.encode(), b"tapwork dashboard sessions", hashlib.sha256).digest()


class Sessions:
    def __init__(self, services: Services, secret: bytes) -> None:
        self.services = services
        self.secret = secret
        self.serializer = URLSafeSerializer(secret, salt="tapwork-dashboard-session")

    def new(self, operator_id: int) -> str:
        hours = self.services.config.web.session_hours
        expires = self.services.clock.now() + timedelta(hours=hours)
        return self.serializer.dumps({"op": operator_id, "sid": secrets.token_urlsafe(16),
                                      "exp": to_iso(expires)})

    def read(self, cookie: str | None) -> tuple[int, str] | None:
        """(operator, session id) of a valid, unexpired cookie of a current operator."""
        if not cookie:
            return None
        try:
            data = self.serializer.loads(cookie)
            operator, sid, expires = int(data["op"]), str(data["sid"]), from_iso(data["exp"])
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        if expires <= self.services.clock.now() or not self.services.signin.is_operator(
                operator):
            return None
        return operator, sid

    def csrf(self, sid: str) -> str:
        return hmac.new(self.secret, b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()

    def set_cookie(self, response: web.StreamResponse, operator_id: int) -> None:
        web_config = self.services.config.web
        response.set_cookie(COOKIE, self.new(operator_id), httponly=True, samesite="Strict",
                            secure=web_config.secure, path=PREFIX,
                            max_age=int(web_config.session_hours * 3600))


SESSIONS = web.AppKey("sessions", Sessions)


async def language_of(request: web.Request, services: Services) -> str:
    """The operator's language in chat when they have one, else the browser's."""
    operator = request.get(SIGNED_IN)
    if isinstance(operator, int):
        worker = await services.workers.get(operator)
        if worker is not None:
            return worker.language
    return accept_language(request.headers.get("Accept-Language", "")) or "en"


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sign-in before every page; the CSRF token before every change."""
    services, sessions = request.app[SERVICES], request.app[SESSIONS]
    path = request.path.removeprefix(PREFIX)
    found = sessions.read(request.cookies.get(COOKIE))
    if found is not None:
        request[SIGNED_IN], sid = found
        request[CSRF] = sessions.csrf(sid)
    request[READER] = gettext(await language_of(request, services))
    if path.startswith(OPEN):
        return await handler(request)
    if found is None:
        _ = request[READER]
        return page(request, "message.html", _, status=401, title=_("Please sign in"),
                    text=_("Send /dashboard to the bot in Telegram: it answers with a "
                           "sign-in link for you."))
    if request.method not in SAFE_METHODS and not request.content_type.startswith(
            "multipart/"):  # an upload checks its token as its first part (uploads.py)
        given = request.headers.get(CSRF_HEADER) or (await request.post()).get(CSRF_FIELD)
        if not csrf_ok(request, given):
            return refused_csrf(request)
    return await handler(request)


def csrf_ok(request: web.Request, given: object) -> bool:
    expected = request.get(CSRF, "")
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(
        given.encode(), expected.encode())


def refused_csrf(request: web.Request) -> web.Response:
    _ = request[READER]
    return page(request, "message.html", _, status=403, title=_("Refused"),
                text=_("This request did not come from a dashboard page (its security token "
                       "is missing or wrong), so nothing was changed. Go back, reload the "
                       "page and try again."))


async def login(request: web.Request) -> web.Response:
    """Open a link from /dashboard: set the session cookie, then go to the dashboard.

    The way on is a page that moves itself (``meta refresh``) rather than a 303: when
    the link is opened from another site (Telegram Web), a ``SameSite=Strict`` cookie
    is left out of a redirect that site started, but not out of a navigation our own
    page starts.
    """
    services, sessions = request.app[SERVICES], request.app[SESSIONS]
    _ = request[READER]
    outcome = await services.signin.redeem(request.query.get("token", ""))
    if not isinstance(outcome, SignedIn):
        text = {Refusal.EXPIRED: _("This sign-in link has expired: links work for ten "
                                   "minutes. Send /dashboard to the bot for a new one."),
                Refusal.USED: _("This sign-in link was already used: each link works "
                                "once. Send /dashboard to the bot for a new one."),
                }.get(outcome, _("This sign-in link is not valid. Send /dashboard to the "
                                 "bot for a new one."))
        return page(request, "message.html", _, status=403,
                    title=_("The link did not work"), text=text)
    response = page(request, "signed_in.html", gettext(
        await language_of(_with_operator(request, outcome.operator_id), services)))
    sessions.set_cookie(response, outcome.operator_id)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _with_operator(request: web.Request, operator: int) -> web.Request:
    request[SIGNED_IN] = operator
    return request


async def logout(request: web.Request) -> web.Response:
    _ = request[READER]
    request[SIGNED_IN] = None
    response = page(request, "message.html", _, title=_("Signed out"),
                    text=_("You are signed out. Send /dashboard to the bot to sign in again."))
    response.del_cookie(COOKIE, path=PREFIX)
    return response
