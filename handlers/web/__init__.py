"""The bot's web side: pages a browser opens, served by aiohttp on the bot's own event
loop. ``dashboard/`` holds the operators' dashboard; ``static/`` its stylesheet, script
and vendored third-party files (each with its licence). Like every handler, a page makes
application calls (``bot/services``) and renders what they return: no SQL here."""
