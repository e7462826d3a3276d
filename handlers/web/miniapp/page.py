"""The Mini App's one page, with every word in the reader's language.

The page is plain HTML, one stylesheet and one script (``static/``), no build step and
nothing fetched from elsewhere but Telegram's own ``telegram-web-app.js``, which the
script feature-detects (the page works without it: in a browser, and in tests). Words
are translated here, through the same catalogs as the chat, and handed to the script as
JSON in the page: the script holds no English of its own.

Nothing about the task is in the page: the task, its picture and the answer travel
through calls that carry the Mini App's ``initData`` (``handlers.web.miniapp``), so the
page itself may be served to anyone.
"""

from __future__ import annotations

import json

from markupsafe import Markup, escape

from bot.i18n import N_, Gettext

#: the words of the page, by the name the script uses
STRINGS = {
    "loading": N_("Loading the task…"),
    "undo": N_("Undo"),
    "nothing": N_("Nothing to mark"),
    "submit": N_("Send"),
    "sending": N_("Sending…"),
    "saved": N_("Saved. The next task is in the chat."),
    "zoom_in": N_("Zoom in"),
    "zoom_out": N_("Zoom out"),
    "zoom_reset": N_("Fit the picture"),
    "delete": N_("Delete this box"),
    "label": N_("Label of the box"),
    "boxes_help": N_("Drag a finger across the object to draw a box. Tap a box to move it "
                     "or drag its round handles to resize. Two fingers zoom and pan."),
    "points_help": N_("Tap to place a point; drag a point to move it. Two fingers zoom "
                      "and pan."),
    "count_boxes": N_("Boxes: {count}"),
    "count_points": N_("Points: {count} (from {low} to {high})"),
    "confirm_nothing": N_("Send that there is nothing to mark on this picture?"),
    "need_shape": N_("Draw at least one box, or tap Nothing to mark."),
    "need_points": N_("Place from {low} to {high} points, or tap Nothing to mark."),
    "picture": N_("The picture to mark"),
    # what the server answers, by outcome
    "refused": N_("This page could not prove who you are. Please open the task again "
                  "from the chat."),
    "gone": N_("This task is no longer open: it was answered, skipped, or its time ran "
               "out. Please go back to the chat."),
    "already_answered": N_("This task was already answered. Please go back to the chat."),
    "expired": N_("The time for this task ran out, so it was not saved. Please go back to "
                  "the chat."),
    "busy": N_("The bot is busy, please try again in a moment."),
    "failed": N_("Something went wrong. Please try again."),
    "unreadable": N_("The answer could not be read. Please send it again from the drawing "
                     "page."),
}

#: where the page's script and stylesheet are served from
STATIC = "/app/static"
TELEGRAM_JS = "https://telegram.org/js/telegram-web-app.js"

_PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<title>{title}</title>
<link rel="stylesheet" href="{static}/miniapp.css">
<script src="{telegram_js}"></script>
</head>
<body>
<main id="app" data-base="{base}" data-lang="{lang}">
  <header class="bar">
    <h1 id="title">{loading}</h1>
    <p id="instructions" class="hint"></p>
  </header>
  <div id="stage" class="stage">
    <div id="canvas" class="canvas">
      <img id="picture" alt="{picture}" draggable="false">
      <svg id="overlay" class="overlay" aria-hidden="true"></svg>
    </div>
  </div>
  <p id="help" class="hint"></p>
  <p id="status" class="status" role="status" aria-live="polite"></p>
  <div id="labels" class="labels" role="radiogroup" aria-label="{label}" hidden></div>
  <nav class="tools">
    <button id="zoom-out" type="button" class="tool" aria-label="{zoom_out}">−</button>
    <button id="zoom-reset" type="button" class="tool" aria-label="{zoom_reset}">⤢</button>
    <button id="zoom-in" type="button" class="tool" aria-label="{zoom_in}">+</button>
    <button id="delete" type="button" class="tool" aria-label="{delete}" hidden><svg
      viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false"><path
      fill="currentColor" d="M9 3h6l1 2h4v2H4V5h4l1-2zm-3 6h12l-1 12H7L6 9zm4 2v8h1.5v-8H10zm3.5
      0v8H15v-8h-1.5z"/></svg></button>
    <button id="undo" type="button" class="tool wide">{undo}</button>
  </nav>
  <div class="actions">
    <button id="nothing" type="button" class="secondary">{nothing}</button>
    <button id="submit" type="button" class="primary">{submit}</button>
  </div>
</main>
<script id="strings" type="application/json">{strings}</script>
<script src="{static}/miniapp.js"></script>
</body>
</html>
"""


def render_page(base: str, _: Gettext) -> str:
    """The page for one task (``base``: ``/app/task/<assignment>``) or quiz question
    (``/app/quiz/<attempt>/<position>``), in the reader's language; its script calls
    ``base/task``, ``base/image`` and ``base/answer``."""
    words = {key: _(text) for key, text in STRINGS.items()}
    # inside <script> only "</" could end the element early: JSON escapes it
    strings = json.dumps(words, ensure_ascii=False).replace("</", "<\\/")
    return _PAGE.format(
        lang=_.language, title=escape(_("Mark the picture")), static=STATIC,
        telegram_js=TELEGRAM_JS, base=escape(base), strings=Markup(strings),
        **{key: escape(words[key]) for key in ("loading", "picture", "label", "zoom_out",
                                               "zoom_reset", "zoom_in", "delete", "undo",
                                               "nothing", "submit")})
