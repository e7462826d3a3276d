"""Web adapters: an HTTP request in, one application call, a page or JSON out.

Served by aiohttp on the bot's own event loop. ``dashboard/`` holds the operators'
dashboard, ``miniapp/`` the Telegram Mini App where boxes and points are drawn;
``static/`` the dashboard's stylesheet, script and vendored third-party files (each with
its licence). Like every handler, nothing here reads SQL or decides a rule: it verifies
who is asking (a signed session cookie, or ``handlers.web.initdata``), reads the request
once, and calls the same services a tap in chat or the command line calls.
"""
