"""The services layer: the use cases (run a session, decide, undo, compare, queue, export) over the store and domain.

The window and the command line call these; nothing here imports Qt, app.ui or app.cli.
"""
