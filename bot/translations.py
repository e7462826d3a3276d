"""Keep the gettext catalogs in step with the code: ``python -m bot.translations``.

Extracts every ``_("…")`` and ``N_("…")`` from ``bot/`` and ``handlers/`` (Python, and the
dashboard's templates) with Babel and
merges them into ``locales/<lang>/LC_MESSAGES/tapwork.po``: new messages appear with an
empty translation, gone ones are dropped, existing translations are kept. The tests fail
while any catalog lacks a translation, so a new string cannot ship untranslated.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, LANGUAGES

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("bot", "handlers")
#: code that never reaches a worker's phone: the stand-in and the offline tools
SKIP = ("bot/sim/", "bot/aggregation/", "bot/translations.py", "bot/cli.py")
#: Python, and the dashboard's Jinja2 templates (``_()`` in them, read by Jinja's own
#: Babel extractor)
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]
OPTIONS = {"**/templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}


def extract() -> Catalog:
    """Every message id in the code, with where it appears."""
    template = Catalog(domain=DOMAIN, project="tapwork")
    for source in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
                ROOT / source, method_map=METHODS, options_map=OPTIONS,
                keywords={"_": None, "N_": None}):
            path = f"{source}/{filename}"
            if not message or any(path.startswith(s) or path == s for s in SKIP):
                continue
            template.add(message, locations=[(path, lineno)], auto_comments=comments,
                         context=context)
    return template


def catalog_path(language: str) -> Path:
    return ROOT / "locales" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def update() -> dict[str, int]:
    """Merge the code's messages into each catalog; returns untranslated counts."""
    template = extract()
    missing: dict[str, int] = {}
    for language in LANGUAGES:
        path = catalog_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=language, domain=DOMAIN)
        else:
            catalog = Catalog(locale=language, domain=DOMAIN, project="tapwork")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with path.open("wb") as fh:
            write_po(fh, catalog, width=100, omit_header=False, sort_output=False)
        if language != "en":
            missing[language] = sum(1 for m in catalog if m.id and not m.string)
    return missing


if __name__ == "__main__":
    for lang, count in update().items():
        print(f"{lang}: {count} untranslated", file=sys.stderr)
