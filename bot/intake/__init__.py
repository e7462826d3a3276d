"""Project files coming in: items files (CSV, JSONL, ZIP with media) read, checked line
by line, media prepared for phones, and staged and published without stalling the work
loop (``loader``).

Split from the services because it is the one place that reads untrusted files in bulk:
everything here is bounded (sizes, counts, ZIP members) and names the file line of each
problem. It may import ``bot.domain`` and ``storage/`` (staging tables), never the
services, the handlers or ``telegram``.
"""
