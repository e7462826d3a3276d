"""Checking one raw record into an item: keys, values, content, media, language.

Split from ``bot.intake.importer`` so the item rules can be read without the file handling;
every problem is reported on its line, and media is prepared once per file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any

from bot.domain.errors import TapworkError
from bot.domain.item_language import detect, parse_code
from bot.domain.project_spec import LANGUAGES, Localized, ProjectSpec
from bot.domain.shapes import ShapeError, read_gold
from bot.i18n import N_
from bot.intake.formats import _LongNumber, _unknown
from bot.intake.media import MediaError, PreparedMedia, prepare_audio, prepare_image
from bot.intake.records import (
    _FALSE,
    _TRUE,
    CONTENT_KEYS,
    ITEM_KEYS,
    MAX_ID,
    MAX_TEXT,
    MEDIA_MEMORY,
    ItemRecord,
    Problem,
)
from bot.intake.sources import _Lru, _Media, _RefError

# --------------------------------------------------------------------------- checking


class _Invalid(TapworkError):
    """One problem with one value; the line goes on being checked."""


def _telegram_length(text: str) -> int:
    """Telegram counts UTF-16 code units: most emoji count twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _string(value: Any, key: str, *, numbers: bool = False) -> str | None:
    """A trimmed string with Unix newlines; ``None`` for absent, null or blank."""
    if value is None:
        return None
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or (isinstance(value, _LongNumber) and not numbers):
        raise _Invalid(N_("{key} must be text in double quotes"), key=key)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid(N_("{key} contains an invalid character (a lone {escape} escape)"),
                       key=key, escape="\\u") from None
    cleaned = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return cleaned or None


@dataclass
class _Checked:
    """One line checked but for its id's uniqueness, which its batch checks at once."""

    line: int
    problems: list[Problem]
    #: where a problem with the id goes among the line's problems (they follow the keys)
    id_at: int
    ext_id: str | None
    record: ItemRecord | None


class _MediaCache:
    """Prepared media (or why not) by file and by content, so each is read and prepared
    once. Without ``keep``, prepared bytes are dropped once their batch is written
    (``release``): what is remembered is then a few hundred bytes a file."""

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.by_file = _Lru(MEDIA_MEMORY)
        self.by_content = _Lru(MEDIA_MEMORY)
        self.fresh: list[tuple[_Lru, Hashable]] = []
        self.fresh_bytes = 0

    def remember(self, cache: _Lru, key: Hashable, value: Any) -> None:
        cache.keep(key, value)
        if isinstance(value, PreparedMedia) and value.data:
            self.fresh.append((cache, key))

    def release(self) -> None:
        if not self.keep:
            for cache, key in self.fresh:
                value = cache.get(key)
                if isinstance(value, PreparedMedia) and value.data:
                    cache[key] = replace(value, data=b"")
        self.fresh = []
        self.fresh_bytes = 0


class _Checker:
    """Checks records one by one, remembering prepared media across the file."""

    def __init__(self, spec: ProjectSpec, media: _Media, *, csv_mode: bool,
                 keep_media: bool) -> None:
        self.spec = spec
        self.media = media
        self.csv_mode = csv_mode
        self.cache = _MediaCache(keep_media)
        self.id_column = True

    def check(self, line: int, raw: dict[str, Any]) -> _Checked:
        """Every problem on the line but a duplicate id; the item if there are none."""
        found: list[Problem] = []

        def attempt(func: Callable[[], Any]) -> Any:
            try:
                return func()
            except _Invalid as exc:
                found.append(Problem(exc.message, exc.params))
                return None

        if not self.csv_mode:
            unknown = [key for key in raw if key not in ITEM_KEYS]
            if unknown:
                found.append(_unknown("key", unknown, ITEM_KEYS))
        id_at = len(found)
        ext_id = attempt(lambda: self._id(raw.get("id")))
        text, media = attempt(lambda: self._content(raw)) or (None, None)
        gold = attempt(lambda: self._answer(raw.get("gold"), "gold"))
        quiz = attempt(lambda: self._quiz(raw.get("quiz")))
        explain = attempt(lambda: self._explain(raw))
        prelabel = attempt(lambda: self._answer(raw.get("prelabel"), "prelabel"))
        lang = attempt(lambda: self._lang(raw.get("lang")))
        gold_given = _present(raw.get("gold"))
        if quiz and not gold_given:
            found.append(Problem(N_("a quiz item needs a {gold} answer to check the worker "
                                    "against"), {"gold": "gold"}))
        if explain is not None and not gold_given:
            found.append(Problem(N_("{explain} is given but there is no {gold} answer to "
                                    "explain"), {"explain": "explain", "gold": "gold"}))
        language = self.spec.language
        if (self.spec.typed and _present(raw.get("audio"))
                and language is None and not _present(raw.get("lang"))):
            found.append(Problem(N_("{audio} needs a language to listen for: give {lang} "
                                    "(such as {example}) or set the project's language"),
                                 {"audio": "audio", "lang": "lang", "example": '"ko"'}))
        if found or ext_id is None:
            return _Checked(line, found, id_at, ext_id, None)
        detected = False
        if lang is None:
            lang = language
        if lang is None and text is not None:
            # only here, once the line is valid, and in the import's thread (see module doc)
            lang = detect(text)
            detected = lang is not None
        record = ItemRecord(ext_id=ext_id, line=line, text=text, media=media, gold=gold,
                            quiz=bool(quiz), explain=explain, prelabel=prelabel,
                            lang=lang or "", detected=detected)
        return _Checked(line, found, id_at, ext_id, record)

    def _id(self, value: Any) -> str | None:
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, str | int)):
            raise _Invalid(N_("{key} must be text or a whole number"), key="id")
        ext_id = _string(value, "id", numbers=True)
        if ext_id is None:
            if self.id_column:
                raise _Invalid(N_("missing {key}"), key="id")
            return None
        if len(ext_id) > MAX_ID:
            raise _Invalid(N_("{key} is too long: {length} characters (the limit is "
                              "{limit})"), key="id", length=len(ext_id), limit=MAX_ID)
        return ext_id

    def _content(self, raw: dict[str, Any]) -> tuple[str | None, PreparedMedia | None]:
        values = {key: _string(raw.get(key), key) for key in CONTENT_KEYS}
        given = [key for key in CONTENT_KEYS if values[key] is not None]
        if len(given) > 1:
            raise _Invalid(N_("give only one of {text_key}, {image_key} or {audio_key} "
                              "(this item has {given})"), **_CONTENT_KEYS, given=_and(given))
        if not given:
            if "text" in raw and not any(key in raw for key in ("image", "audio")):
                raise _Invalid(N_("{key} is empty"), key="text")
            raise _Invalid(N_("no content: give one of {text_key}, {image_key} or {audio_key}"),
                           **_CONTENT_KEYS)
        kind = given[0]
        value = values[kind]
        assert value is not None
        if kind != "image" and self.spec.spatial:
            raise _Invalid(N_("a {kind} project takes images to mark, not {given}"),
                           kind=self.spec.kind, given=kind)
        if kind == "text" and self.spec.typed:
            raise _Invalid(N_("a {kind} project needs audio or an image to transcribe, not "
                              "{given}"), kind=self.spec.kind, given=kind)
        if kind == "audio" and self.spec.categorical:
            raise _Invalid(N_("a {kind} project takes text or images, not {given}"),
                           kind=self.spec.kind, given=kind)
        if kind == "text":
            length = _telegram_length(value)
            if length > MAX_TEXT:
                raise _Invalid(N_("{key} is too long: {length} characters (the limit is "
                                  "{limit}, so it fits in one Telegram message)"),
                           key="text", length=length, limit=MAX_TEXT)
            return value, None
        return None, self._media(kind, value)

    def _media(self, kind: str, ref: str) -> PreparedMedia:
        """The prepared file, looked up by the file first: a member named on a thousand
        lines is inflated, hashed and prepared once."""
        try:
            where = self.media.locate(ref)
        except _RefError as exc:
            raise _Invalid(_MEDIA_PROBLEM[kind], ref=ref, separator="", why=exc) from None
        cache = self.cache
        # a prepared file, or (separator, why) when it cannot be one
        result: PreparedMedia | tuple[str, Exception] | None = cache.by_file.find((kind, where))
        if result is None:
            try:
                data = self.media.read(where)
            except _RefError as exc:
                result = ("", exc)
            else:
                digest = (kind, hashlib.sha256(data).hexdigest())
                result = cache.by_content.find(digest)
                if result is None:
                    name = PurePath(ref.replace("\\", "/")).name
                    try:
                        result = (prepare_image(data, name) if kind == "image"
                                  else prepare_audio(data, name))
                    except MediaError as exc:
                        result = (":", exc)
                    else:
                        cache.fresh_bytes += len(result.data)
                    cache.remember(cache.by_content, digest, result)
            cache.remember(cache.by_file, (kind, where), result)
        if isinstance(result, tuple):
            separator, why = result
            raise _Invalid(_MEDIA_PROBLEM[kind], ref=ref, separator=separator,
                           why=why if isinstance(why, TapworkError) else str(why))
        return result

    def _answer(self, value: Any, key: str) -> str | None:
        """A gold answer or prelabel: a label value, or any text for transcription.

        Labels match ignoring case and surrounding spaces ("Positive" means
        "positive") and are stored as the project spells them, so exports agree.
        """
        if self.spec.spatial:
            return self._drawn(value, key)
        answer = _string(value, key, numbers=True)
        if answer is None:
            return None
        if not self.spec.categorical:
            if _telegram_length(answer) > MAX_TEXT:
                raise _Invalid(N_("{key} is too long (the limit is {limit} characters)"),
                               key=key, limit=MAX_TEXT)
            return answer
        values = self.spec.label_values
        if answer in values:
            return answer
        matches = [label for label in values if label.casefold() == answer.casefold()]
        if len(matches) == 1:
            return matches[0]
        if len(answer) > MAX_ID:
            answer = answer[:MAX_ID] + "…"
        raise _Invalid(N_("unknown label '{label}' in {key} (allowed: {allowed})"),
                       label=answer, key=key, allowed=", ".join(values))

    def _drawn(self, value: Any, key: str) -> str | None:
        """A gold drawing (or prelabel): the JSON list itself in JSONL, its text in CSV,
        checked like a worker's answer and stored the same way."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return read_gold(self.spec.geometry, value)
        except ShapeError as exc:
            raise _Invalid(N_("{key}: {why}"), key=key, why=exc) from None

    def _lang(self, value: Any) -> str | None:
        """The item's own language: any BCP 47 tag, kept as its primary subtag."""
        if value is not None and (not isinstance(value, str)
                                  or isinstance(value, _LongNumber)):
            raise _Invalid(N_("{key} must be a language code in double quotes, such as "
                              "{example}"), key="lang", example='"ko"')
        code = _string(value, "lang")
        if code is None:
            return None
        try:
            return parse_code(code)
        except ValueError as exc:
            raise _Invalid(N_("{key}: {why}"), key="lang",
                           why=exc if isinstance(exc, TapworkError) else str(exc)) from None

    def _quiz(self, value: Any) -> bool:
        if value is None:
            return False
        if self.csv_mode:
            word = str(value).strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
            raise _Invalid(N_("{key} must be {true} or {false} (or {others}), not '{value}'"),
                           key="quiz", true="true", false="false", others="yes/no, 1/0",
                           value=value)
        if isinstance(value, bool):
            return value
        raise _Invalid(N_("{key} must be {true} or {false} (without quotes)"), key="quiz",
                       true="true", false="false")

    def _explain(self, raw: dict[str, Any]) -> Localized | None:
        texts: dict[str, str] = {}
        value = raw.get("explain")
        if isinstance(value, dict):
            for language, text in value.items():
                if language not in LANGUAGES:
                    raise _Invalid(N_("{key}: unknown language '{language}' (use "
                                      "{allowed})"), key="explain", language=language,
                                   allowed=", ".join(LANGUAGES))
                cleaned = _string(text, f"explain.{language}")
                if cleaned is None:
                    raise _Invalid(N_("{key} is empty"), key=f"explain.{language}")
                texts[language] = cleaned
            if not texts:
                raise _Invalid(N_("{key} is an empty table"), key="explain")
        else:
            if value is not None and not isinstance(value, str):
                raise _Invalid(N_("{key} must be text, or a table of texts per language "
                                  "(e.g. {example})"), key="explain",
                               example='{"en": "...", "ko": "..."}')
            text = _string(value, "explain")
            if text is not None:
                texts["en"] = text
            for language in LANGUAGES:
                extra = _string(raw.get(f"explain_{language}"), f"explain_{language}")
                if extra is not None:
                    texts[language] = extra
        for language, text in texts.items():
            if _telegram_length(text) > MAX_TEXT:
                raise _Invalid(N_("{key} ({language}) is too long (the limit is {limit} "
                                  "characters)"), key="explain", language=language,
                               limit=MAX_TEXT)
        return Localized(texts) if texts else None


#: the content keys, as the operator types them
_CONTENT_KEYS = {f"{key}_key": key for key in CONTENT_KEYS}


def _and(keys: list[str]) -> str | Problem:
    """"text and image": keys joined in the reader's words."""
    joined: str | Problem = keys[0]
    for key in keys[1:]:
        joined = Problem(N_("{first} and {second}"), {"first": joined, "second": key})
    return joined
#: a media file's problem: its ``why`` is the source's or the media check's own error
_MEDIA_PROBLEM = {"image": N_("image '{ref}'{separator} {why}"),
                  "audio": N_("audio '{ref}'{separator} {why}")}


def _present(value: Any) -> bool:
    """Whether an optional value was given at all (blank text counts as not given)."""
    if value is None:
        return False
    return not (isinstance(value, str) and not value.strip())
