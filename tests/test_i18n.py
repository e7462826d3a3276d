"""Every message a worker can read exists in every language, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from bot.i18n import LANGUAGES, catalog, gettext_for, language_for
from bot.translations import extract


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


MESSAGES = [str(m.id) for m in extract() if m.id]


def test_code_has_messages() -> None:
    assert len(MESSAGES) > 30
    assert "✓ Saved" in MESSAGES


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_message_is_translated_with_the_same_placeholders(language: str) -> None:
    table = catalog(language)
    missing = [m for m in MESSAGES if not table.get(m)]
    assert missing == [], f"{language} lacks {len(missing)}: {missing[:5]}"
    wrong = [m for m in MESSAGES if _placeholders(table[m]) != _placeholders(m)]
    assert wrong == [], f"{language} placeholders differ in: {wrong[:5]}"


def test_language_follows_telegram_code() -> None:
    assert language_for("ko") == "ko"
    assert language_for("zh-hans") == "zh"
    assert language_for("pt-BR") == "en"
    assert language_for(None) == "en"
    assert gettext_for("ko")("✓ Saved") == "✓ 저장됨"
    assert gettext_for("zh")("{amount} per task", amount="$1") == "每个任务 $1"
    assert gettext_for("fr")("✓ Saved") == "✓ Saved"
