"""The one escaping path (handlers/say.py): escaping once, splitting within Telegram's
limits, and no other way out to Telegram."""

from __future__ import annotations

import ast
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sim.standin.formatting import _parse_html
from handlers import say
from tests.conftest import ROOT

HOSTILE = "<b>&amp; 1 < 2 > 0 & <script>"


def shown(markup: say.Html) -> str:
    """What Telegram shows for ``markup``; raises when it would refuse to parse it."""
    return _parse_html(str(markup))[0]


def test_text_is_escaped_once_and_html_is_kept() -> None:
    assert shown(say.to_html(HOSTILE)) == HOSTILE
    built = say.html("<b>{title}</b> · {name}", title=HOSTILE, name=say.html("<i>x</i>"))
    assert str(built) == ("<b>&lt;b&gt;&amp;amp; 1 &lt; 2 &gt; 0 &amp; &lt;script&gt;</b>"
                          " · <i>x</i>")
    assert say.to_html(built) == built  # escaping HTML again changes nothing
    assert shown(say.join([HOSTILE, built])) == f"{HOSTILE}\n{HOSTILE} · x"
    assert say.visible(built) == f"{HOSTILE} · x"
    assert say.length("😀a") == 3  # Telegram counts UTF-16 code units


def test_a_long_text_splits_at_blank_lines_then_lines_then_spaces() -> None:
    blocks = [f"block {n} " + "x" * 1500 for n in range(5)]
    parts = say.split("\n\n".join(blocks))
    assert [shown(p) for p in parts] == ["\n\n".join(blocks[:2]), "\n\n".join(blocks[2:4]),
                                         blocks[4]]
    words = " ".join(["word"] * 2000)
    assert all(say.length(p) <= 4096 for p in say.split(words))
    assert " ".join(shown(p) for p in say.split(words)) == words
    assert [shown(p) for p in say.split("y" * 5000)] == ["y" * 4096, "y" * 904]
    assert say.split(" \n ") == []


def test_tags_open_across_a_split_are_closed_and_opened_again() -> None:
    text = say.html("<b>{}</b>", "bold " * 1000)
    parts = say.split(text, 1000)
    assert len(parts) == 5
    for part in parts:
        plain, entities = _parse_html(str(part))
        assert entities == [{"type": "bold", "offset": 0, "length": len(plain)}]


def test_clip_and_shorten_end_in_an_ellipsis() -> None:
    assert shown(say.clip("a b c " * 100, 50)).endswith("…")
    assert say.length(say.clip("a b c " * 100, 50)) <= 50
    assert say.clip("short", 50) == "short"
    assert say.shorten("one two three", 9) == "one two…"
    assert say.shorten("one two", 9) == "one two"
    assert say.length(say.shorten("😀" * 10, 5)) <= 5


@given(st.lists(st.one_of(st.text(min_size=1, max_size=300),
                          st.sampled_from([HOSTILE, "\n", "\n\n", " ", "😀", "&", "<"])),
                max_size=40),
       st.integers(min_value=30, max_value=400))
def test_every_part_parses_fits_and_together_they_keep_every_word(pieces: list[str],
                                                                   limit: int) -> None:
    text = say.join([say.html("<b>{}</b>", p) if i % 3 == 0 else p
                     for i, p in enumerate(pieces)], "")
    parts = say.split(text, limit)
    for part in parts:
        assert say.length(part) <= limit
        assert shown(part).strip()  # Telegram refuses an empty message
    assert "".join("".join(shown(p).split()) for p in parts) == \
        "".join(say.visible(text).split())


#: methods of the Bot API that carry text or a caption to a chat
_SENDING = re.compile(r"\.(send_message|edit_message_text|edit_text|reply_text|"
                      r"reply_html|reply_photo|reply_document|reply_audio|reply_voice|"
                      r"send_photo|send_document|send_audio|send_voice|"
                      r"edit_message_caption|edit_caption)\(")
#: nothing: the outbox's delivery loop goes through say.send like every other message
_ALLOWED: set[tuple[str, str]] = set()


def test_nothing_but_say_sends_text_to_telegram() -> None:
    """The "exactly once" rule holds by construction only while every message leaves
    through handlers/say.py, and nothing else declares text safe (``Markup(...)``)."""
    found = []
    for path in sorted((ROOT / "handlers").glob("*.py")) + sorted((ROOT / "bot").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name in ("handlers/say.py", "bot/sim/phone.py") or name.startswith("bot/sim/standin/"):
            continue
        source = path.read_text()
        for match in _SENDING.finditer(source):
            if (name, match.group(1)) not in _ALLOWED:
                line = source.count("\n", 0, match.start()) + 1
                found.append(f"{name}:{line}: {match.group(1)}")
        tree = ast.parse(source)
        # the one parse mode named outside say.py: the Application's default, HTML
        defaults = {id(k) for node in ast.walk(tree) if isinstance(node, ast.Call)
                    and getattr(node.func, "id", "") == "Defaults" for k in node.keywords}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Markup":
                found.append(f"{name}:{node.lineno}: Markup(...)")
            if isinstance(node, ast.keyword) and node.arg == "parse_mode" \
                    and not (name == "bot/app.py" and id(node) in defaults):
                found.append(f"{name}:{node.value.lineno}: parse_mode")
    assert found == []


@pytest.mark.parametrize("language", ["en", "ko", "zh"])
def test_the_longest_broadcast_text_fits_its_invitation(language: str) -> None:
    """The limit ``tapwork broadcast`` checks a text against leaves room for the
    invitation around it, in every language."""
    from bot.domain.projects import Project, parse_project
    from bot.i18n import gettext_for
    from bot.services.broadcast import MAX_TEXT
    from handlers.broadcast import invitation
    from tests.conftest import sentiment_doc

    project = Project(1, parse_project(sentiment_doc()), "open")
    text, _markup = invitation(project, HOSTILE + "z" * (MAX_TEXT - len(HOSTILE)),
                               gettext_for(language))
    assert say.split(text) == [say.to_html(text)]
    assert shown(say.to_html(text)).startswith(HOSTILE)
