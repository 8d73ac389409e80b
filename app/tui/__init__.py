"""The terminal review UI (``signoff tui``, Textual): the queue and proposals over the same services as the window.

Never imports Qt; app.main opens it, app.cli only names it.
"""
