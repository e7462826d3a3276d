"""The bot's own web server: Telegram's webhook posts, ``/healthz`` and ``/metrics``.

One aiohttp application per process, built by ``server.build_web_app`` from the running
PTB ``Application`` and the services, started by the composition root (``bot/app.py``)
in webhook mode, or beside long polling when ``webhook.listen`` alone is set. More pages
(an operator dashboard, a Mini App) mount on the same server through ``extra`` routes.
Like every handler it parses a request, makes one service call and answers; it never
speaks SQL.
"""
