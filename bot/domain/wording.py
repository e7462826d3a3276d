"""Words kept as a message id and its parameters until someone shows them.

A problem found deep inside (a project key's rule, an import line's check) does not know
who will read it: the command line prints English, chat and the dashboard speak the
reader's language. So it is kept as a template (marked with ``N_``) and its parameters,
and rendered by whoever shows it (``render``). A parameter that is itself such words (a
``Phrase``, or a ``TapworkError``, which keeps the same two parts) is rendered in the same
language; every other parameter is the file's own key, value or name and stays as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

#: a ``_`` in some language: ``gettext_for("ko")``, or ``english`` for the command line
Translate = Callable[..., str]


def english(message: str, **params: object) -> str:
    """The ``_`` of the command line: the message id is the English."""
    return message.format(**params) if params else message


def render(template: str, params: Mapping[str, object], _: Translate = english) -> str:
    """``template`` in ``_``'s language, nested words rendered in the same language."""
    return _(template, **{name: shown_in(value, _) for name, value in params.items()})


def shown_in(value: object, _: Translate) -> object:
    """A parameter as ``_``'s reader sees it: words are rendered, values kept."""
    if isinstance(value, Phrase):
        return value.render(_)
    message, params = getattr(value, "message", None), getattr(value, "params", None)
    if isinstance(value, Exception) and isinstance(message, str) \
            and isinstance(params, Mapping):
        return render(message, params, _)
    if isinstance(value, list):  # sentences in a row: did-you-mean hints
        return " ".join(str(shown_in(part, _)) for part in value)
    return value


@dataclass(frozen=True)
class Phrase:
    """Words before they are shown: a message id (marked ``N_``) and its parameters.
    ``str()`` is the English, so an f-string or ``format`` of it reads as before."""

    template: str
    params: Mapping[str, object] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return self.template

    def render(self, _: Translate = english) -> str:
        return render(self.template, self.params, _)

    def __str__(self) -> str:
        return self.render()


def phrase(template: str, **params: object) -> Phrase:
    """``Phrase`` with its parameters as keywords, as an error is raised."""
    return Phrase(template, params)
