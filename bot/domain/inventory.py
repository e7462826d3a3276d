"""What a project holds, counted one way wherever an operator reads it.

An import's report and ``/projects`` both say "7 items: 6 tasks, 1 gold check" and "By
language: English 4, Korean 3": the same ``tally`` counts them and the same ``describe``
and ``languages_text`` word them. They once disagreed: the report called every line an
item "ready", gold checks included, while ``/projects`` counted only work.

The wording goes through ``_`` like every message; the command line passes the English
``_``, so it prints the very words an English-reading operator sees in chat, with language
codes ("en 4, ko 3, none 1") instead of names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from babel import Locale

from bot.i18n import N_, Gettext

#: what an item is for: work to answer, a hidden gold check, or a quiz question
TASK, GOLD, QUIZ = "task", "gold", "quiz"


def kind_of(quiz: bool, gold: bool) -> str:
    """A quiz item is never work, whatever its gold; a gold item outside it is a check."""
    if quiz:
        return QUIZ
    return GOLD if gold else TASK


@dataclass(frozen=True)
class ItemCounts:
    tasks: int = 0
    gold: int = 0
    quiz: int = 0
    #: every item (of each kind) by language, '' for items that need no reading; most first,
    #: '' last
    by_language: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.tasks + self.gold + self.quiz


def tally(rows: Iterable[tuple[str, str, int]]) -> ItemCounts:
    """Sum ``(kind, language, count)`` rows: from storage for a project, from the records
    for an import."""
    kinds = {TASK: 0, GOLD: 0, QUIZ: 0}
    languages: dict[str, int] = {}
    for kind, language, count in rows:
        kinds[kind] += count
        languages[language] = languages.get(language, 0) + count
    ordered = dict(sorted(languages.items(), key=lambda pair: (pair[0] == "", -pair[1],
                                                                pair[0])))
    return ItemCounts(kinds[TASK], kinds[GOLD], kinds[QUIZ], ordered)


#: (one, many): English needs the singular; Korean and Chinese translate both alike
_TASKS = (N_("1 task"), N_("{count} tasks"))
_GOLD = (N_("1 gold check"), N_("{count} gold checks"))
_QUIZ = (N_("1 quiz question"), N_("{count} quiz questions"))
_ITEMS = (N_("1 item"), N_("{count} items"))


def _plural(forms: tuple[str, str], count: int, _: Gettext) -> str:
    return _(forms[0] if count == 1 else forms[1], count=count)


def describe(counts: ItemCounts, _: Gettext) -> str:
    """"7 items: 6 tasks, 1 gold check", and quiz questions when there are."""
    kinds = [_plural(_TASKS, counts.tasks, _)]
    if counts.gold:
        kinds.append(_plural(_GOLD, counts.gold, _))
    if counts.quiz:
        kinds.append(_plural(_QUIZ, counts.quiz, _))
    return _("{items}: {kinds}", items=_plural(_ITEMS, counts.total, _),
             kinds=_(", ").join(kinds))


def language_name(code: str, _: Gettext) -> str:
    """A language's name in the reader's language ("한국어", "英语"); '' has none."""
    if not code:
        return _("no language")
    return Locale.parse(_.language).languages.get(code) or code


def languages_text(by_language: dict[str, int], _: Gettext | None = None) -> str:
    """"English 120, Korean 30, no language 4" in the reader's language; without ``_``
    (the command line) codes: "en 120, ko 30, none 4"."""
    if _ is None:
        return ", ".join(f"{code or 'none'} {count}" for code, count in by_language.items())
    return _(", ").join(f"{language_name(code, _)} {count}"
                        for code, count in by_language.items())
