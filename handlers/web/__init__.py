"""Web adapters: an HTTP request in, one application call, a page or JSON out.

The Mini App (``handlers.web.miniapp``) lives here; the web server that mounts it (and
the webhook, and the operator dashboard) is built by the composition root. Like every
handler, nothing here reads SQL or decides a rule: it verifies who is asking
(``handlers.web.initdata``), reads the request once, and calls the same services a tap
in chat calls.
"""
