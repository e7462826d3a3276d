"""Pictures: task cards (text drawn on an image, every glyph checked, CJK from the
packaged Noto font) and charts for operators.

Pillow only, bytes out: no database, no services, no Telegram, so rendering can run on a
worker thread and be tested on its output alone.
"""
