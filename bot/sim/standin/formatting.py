"""Telegram's text formatting: HTML, MarkdownV2 and Markdown into plain text + entities.

The phone must see the text a person reads, and a bot's formatting mistake must be
refused the way Telegram refuses it ("can't parse entities").
"""

from __future__ import annotations

import html
import re
from typing import Any

from bot.sim.phone import JSON, utf16_len
from bot.sim.standin.wire import ApiError

# ------------------------------------------------------------------ text formatting


def _format(text: str, parse_mode: Any, entities: Any) -> tuple[str, list[JSON]]:
    """Plain text and entities, as Telegram stores a message sent with ``parse_mode``.

    Parsing matters for tests twice over: the phone sees the text a person reads (no
    "<b>"), and markup Telegram would reject (an unescaped "." in MarkdownV2, a stray "<"
    in HTML) is rejected here with Telegram's "can't parse entities" error.
    """
    if not parse_mode:
        return text, list(entities) if isinstance(entities, list) else []
    mode = str(parse_mode).lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    raise ApiError(400, "Bad Request: unsupported parse_mode")


def _parse_error(source: str, index: int, detail: str) -> ApiError:
    offset = len(source[:index].encode())
    return ApiError(400, f"Bad Request: can't parse entities: {detail} at byte offset {offset}")


def _sort_entities(entities: list[JSON]) -> list[JSON]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


_HTML_KINDS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


_HTML_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>")
_HTML_ATTR = re.compile(r"""([A-Za-z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


#: the only named entities the Bot API decodes; numeric ones are decoded too
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9A-Fa-f]{1,6})|([A-Za-z]+));")


def _html_text(source: str, start: int, chunk: str) -> str:
    """Text between tags with its entities decoded; a "&" that starts none is refused.

    Telegram itself shows a stray "&" (and "&nbsp;") as written, but its documentation
    says every "&" that is not part of an entity must be escaped. The stand-in holds the
    bot to the documented rule: a bare "&" in HTML is the mark of text that was never
    escaped, and the same text with a "<" in it is refused by Telegram too, so a test
    with an "&" catches the missed escape before a "<" finds it in production.
    """
    if "&" not in chunk:
        return chunk
    out: list[str] = []
    i = 0
    while True:
        amp = chunk.find("&", i)
        if amp == -1:
            out.append(chunk[i:])
            return "".join(out)
        out.append(chunk[i:amp])
        match = _HTML_ENTITY.match(chunk, amp)
        decoded: str | None = None
        if match is not None:
            decimal, hexadecimal, name = match.groups()
            if name is not None:
                decoded = _NAMED_ENTITIES.get(name)
            else:
                code = int(decimal) if decimal is not None else int(hexadecimal, 16)
                decoded = chr(code) if 0 < code <= 0x10FFFF else None
        if decoded is None:
            raise _parse_error(source, start + amp, 'Character "&" must be escaped as '
                                                    '"&amp;" unless it starts an entity '
                                                    "(&lt; &gt; &amp; &quot; &#NN;)")
        assert match is not None
        out.append(decoded)
        i = match.end()


def _open_tag(source: str, lt: int, tag: str, raw_attrs: str,
              stack: list[list[Any]]) -> tuple[str, JSON]:
    """The entity kind and extra fields an opening tag at ``lt`` starts ("" for none),
    from its attributes; an unknown tag or a span that is no spoiler is refused."""
    kind = _HTML_KINDS.get(tag)
    if kind is None:
        raise _parse_error(source, lt, f'Unsupported start tag "{tag}"')
    attrs = {
        m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
        for m in _HTML_ATTR.finditer(raw_attrs)
    }
    extra: JSON = {}
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise _parse_error(source, lt, 'Tag "span" must have class "tg-spoiler"')
    if tag == "a":
        extra["url"] = attrs.get("href", "")
    elif tag == "tg-emoji":
        extra["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif tag == "blockquote" and "expandable" in attrs:
        kind = "expandable_blockquote"
    elif tag == "code" and stack and stack[-1][0] == "pre":
        language = attrs.get("class", "").removeprefix("language-")
        if language:
            stack[-1][3]["language"] = language
        kind = ""  # <pre><code> is one pre entity
    return kind, extra


def _parse_html(source: str) -> tuple[str, list[JSON]]:
    """Telegram's HTML subset: strips the tags, keeps entities, refuses anything else.

    A raw "<" that does not open a supported tag is an error, as on Telegram, which is
    how a bot that forgets to escape user text fails in production; so is a tag left
    open, an unknown tag, and (stricter than Telegram, see ``_html_text``) a bare "&".
    """
    parts: list[str] = []
    entities: list[JSON] = []
    stack: list[list[Any]] = []  # [tag, start, kind, extra, source index]
    position = 0
    i = 0
    n = len(source)
    while i < n:
        lt = source.find("<", i)
        chunk = source[i : n if lt == -1 else lt]
        if chunk:
            chunk = _html_text(source, i, chunk)
            parts.append(chunk)
            position += utf16_len(chunk)
        if lt == -1:
            break
        match = _HTML_TAG.match(source, lt)
        if match is None:
            raise _parse_error(source, lt, 'Unsupported start tag ""')
        closing, tag, raw_attrs = match.group(1), match.group(2).lower(), match.group(3)
        i = match.end()
        if closing:
            if not stack:
                raise _parse_error(source, lt, f'Unexpected end tag "{tag}"')
            top, start, kind, opened_extra, _ = stack.pop()
            if top != tag:
                raise _parse_error(source, lt, f'Unmatched end tag "{tag}", expected "</{top}>"')
            if kind and position > start:
                entities.append(
                    {"type": kind, "offset": start, "length": position - start, **opened_extra}
                )
            continue
        kind, extra = _open_tag(source, lt, tag, raw_attrs, stack)
        stack.append([tag, position, kind, extra, lt])
    if stack:
        tag, _, _, _, index = stack[-1]
        raise _parse_error(source, index, f'Can\'t find end tag corresponding to start tag "{tag}"')
    return "".join(parts), _sort_entities(entities)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_PLAIN = re.compile(r"[^\\_*\[\]()~`>#+\-=|{}.!\n]+")
_MDV2_CODE_PLAIN = re.compile(r"[^\\`]+")
_MDV2_MARKERS = (("||", "spoiler"), ("__", "underline"), ("*", "bold"), ("_", "italic"),
                 ("~", "strikethrough"))  # fmt: skip
_ENTITY_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


# one scanner over Telegram's MarkdownV2 grammar, a branch per token as the grammar has
# them; the stand-in tests cover it (tests/test_standin.py)
def _parse_markdown_v2(source: str) -> tuple[str, list[JSON]]:  # noqa: C901
    """MarkdownV2 as Telegram reads it, including its "must be escaped" errors."""
    parts: list[str] = []
    entities: list[JSON] = []
    stack: list[list[Any]] = []  # [marker, start, kind, extra, source index]
    position = 0
    i = 0
    n = len(source)

    def emit(text: str) -> None:
        nonlocal position
        parts.append(text)
        position += utf16_len(text)

    def close() -> None:
        _, start, kind, extra, _ = stack.pop()
        if position > start:
            entities.append({"type": kind, "offset": start, "length": position - start, **extra})

    while i < n:
        top = stack[-1][0] if stack else None
        if top in ("`", "```"):
            plain = _MDV2_CODE_PLAIN.match(source, i)
            if plain:
                emit(plain.group())
                i = plain.end()
            elif source[i] == "\\":
                if i + 1 >= n:
                    raise _parse_error(source, i, "Unexpected end of the text after '\\'")
                emit(source[i + 1])
                i += 2
            elif top == "```" and source.startswith("```", i):
                close()
                i += 3
            elif top == "`":
                close()
                i += 1
            else:
                emit(source[i])
                i += 1
            continue
        plain = _MDV2_PLAIN.match(source, i)
        if plain:
            emit(plain.group())
            i = plain.end()
            continue
        char = source[i]
        if char == "\n":
            emit(char)
            i += 1
            if source.startswith(">", i) or source.startswith("**>", i):
                i += 1 if source[i] == ">" else 3  # blockquote marker: text kept, no entity
            continue
        if char == "\\":
            if i + 1 >= n or not 0 < ord(source[i + 1]) <= 126:
                raise _parse_error(source, i, "Character '\\' is reserved and must be escaped")
            emit(source[i + 1])
            i += 2
            continue
        if source.startswith("```", i):
            j = i + 3
            newline = source.find("\n", j)
            language = source[j:newline] if newline != -1 else ""
            extra: JSON = {}
            if language and not any(ch.isspace() for ch in language):
                extra["language"] = language
                j = newline + 1
            elif newline == j:
                j += 1
            stack.append(["```", position, "pre", extra, i])
            i = j
            continue
        if char == "`":
            stack.append(["`", position, "code", {}, i])
            i += 1
            continue
        marker_kind = next(((m, k) for m, k in _MDV2_MARKERS if source.startswith(m, i)), None)
        if marker_kind is not None:
            marker, kind = marker_kind
            if top == marker:
                close()
            elif any(entry[0] == marker for entry in stack):
                raise _parse_error(source, i, f"Can't find end of {_ENTITY_NAMES[kind]} entity")
            else:
                stack.append([marker, position, kind, {}, i])
            i += len(marker)
            continue
        if char == "[":
            stack.append(["[", position, "text_link", {}, i])
            i += 1
            continue
        if char == "]" and top == "[":
            if not source.startswith("(", i + 1):
                raise _parse_error(source, i, "Can't find end of a URL")
            j = i + 2
            url: list[str] = []
            while j < n and source[j] != ")":
                if source[j] == "\\" and j + 1 < n:
                    url.append(source[j + 1])
                    j += 2
                else:
                    url.append(source[j])
                    j += 1
            if j >= n:
                raise _parse_error(source, i, "Can't find end of a URL")
            stack[-1][3]["url"] = "".join(url)
            close()
            i = j + 1
            continue
        if char == ">" and i == 0:
            i += 1
            continue
        if char in _MDV2_RESERVED:
            raise _parse_error(
                source,
                i,
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'",
            )
        emit(char)
        i += 1
    if stack:
        _, _, kind, _, index = stack[-1]
        raise _parse_error(source, index, f"Can't find end of {_ENTITY_NAMES[kind]} entity")
    return "".join(parts), _sort_entities(entities)


_MD_KINDS = {"*": "bold", "_": "italic", "`": "code"}
_MD_PLAIN = re.compile(r"[^\\*_`\[]+")


def _parse_markdown(source: str) -> tuple[str, list[JSON]]:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    parts: list[str] = []
    entities: list[JSON] = []
    position = 0
    i = 0
    n = len(source)

    def emit(text: str) -> None:
        nonlocal position
        parts.append(text)
        position += utf16_len(text)

    def add(kind: str, body: str, **extra: Any) -> None:
        start = position
        emit(body)
        if body:
            entities.append({"type": kind, "offset": start, "length": position - start, **extra})

    def missing_end(index: int) -> ApiError:
        return ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end of the entity starting at "
            f"byte offset {len(source[:index].encode())}",
        )

    while i < n:
        char = source[i]
        if char == "\\" and i + 1 < n and source[i + 1] in "_*`[":
            emit(source[i + 1])
            i += 2
        elif source.startswith("```", i):
            end = source.find("```", i + 3)
            if end == -1:
                raise missing_end(i)
            body = source[i + 3 : end]
            first, newline, rest = body.partition("\n")
            if newline and first and not any(ch.isspace() for ch in first):
                add("pre", rest, language=first)
            else:
                add("pre", body)
            i = end + 3
        elif char in _MD_KINDS:
            end = source.find(char, i + 1)
            if end == -1:
                raise missing_end(i)
            add(_MD_KINDS[char], source[i + 1 : end])
            i = end + 1
        elif char == "[":
            middle = source.find("](", i + 1)
            end = source.find(")", middle + 2) if middle != -1 else -1
            if end == -1:
                raise missing_end(i)
            add("text_link", source[i + 1 : middle], url=source[middle + 2 : end])
            i = end + 1
        else:
            plain = _MD_PLAIN.match(source, i)
            run = plain.group() if plain else char
            emit(run)
            i += len(run)
    return "".join(parts), _sort_entities(entities)
