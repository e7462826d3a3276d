"""The domain: what a project, an answer, money, a language and a notice are, and the
rules over them (limits, quality, quiz stopping, quiet hours, time zones).

Pure values in, values out: nothing here touches the database, the network or Telegram,
so every rule is tested without a bot and read in one place. It may import the standard
library, ``bot.clock``, ``bot.i18n`` and ``bot.aggregation`` (the label models), and
nothing else of tapwork; ``storage/`` builds the types of ``records`` and
``notice_kinds`` straight from its rows. ``tests/test_layers.py`` holds it to that.
"""
