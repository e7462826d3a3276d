"""The bot's own web server and the pages on it: an HTTP request in, one application
call, a page or JSON out.

One aiohttp application per process, built by ``server.build_web_app`` from the running
PTB ``Application`` and the services, started by the composition root (``bot/app.py``)
when ``web.listen`` is set: Telegram's webhook posts, ``/healthz`` and ``/metrics``;
``dashboard/`` the operators' dashboard; ``miniapp/`` the Telegram Mini App where boxes
and points are drawn; ``static/`` the dashboard's stylesheet, script and vendored
third-party files (each with its licence). Like every handler, nothing here reads SQL or
decides a rule: it verifies who is asking (Telegram's secret header, a signed session
cookie, or ``handlers.web.initdata``), reads the request once, and calls the same
services a tap in chat or the command line calls.
"""
