"""The application services: one class per use-case family (work and leasing, quizzes,
payroll, catalog and imports, notices and their delivery, broadcasts, bursts, reports),
each running one transaction per use case through ``storage/``.

What the chat handlers, the command line and the stand-in's tools call, and nothing
else: each service takes plain values and returns ``bot.domain`` types, never a storage
row, and never imports ``telegram`` or ``handlers`` (sending goes through the ``Sender``
protocol of ``sending``). ``bot.wiring.Services`` builds them together.
"""
