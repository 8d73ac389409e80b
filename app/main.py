"""The ``signoff`` entry point: the window when no command is given, the command line otherwise, and the terminal UI
for ``signoff tui`` or when there is no display to open a window on.

The only module that knows all three: app.cli never imports the window or the terminal UI, and each is imported only
when it opens.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# Qt platforms that draw without a display server.
_HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb")


def has_display(environ: dict[str, str] | os._Environ = os.environ) -> bool:
    """Whether a window can open: an X or Wayland display, or a Qt platform that needs none (offscreen)."""
    platform = environ.get("QT_QPA_PLATFORM", "").split(":", 1)[0].strip()
    if platform in _HEADLESS_PLATFORMS:
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def _open_window(db_url: str | None, demo: bool) -> int:
    if not has_display():
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            print(
                "signoff: no display (DISPLAY and WAYLAND_DISPLAY are unset) and no terminal: "
                "run `signoff tui` in a terminal, or set QT_QPA_PLATFORM=offscreen.",
                file=sys.stderr,
            )
            return 1
        print("No display (DISPLAY and WAYLAND_DISPLAY are unset): opening the terminal review UI on the offline demo.")
        return _open_tui(db_url, True, None, None)
    from app.ui.application import run_window

    # Where the bundle's smoke test (and documentation) asks for a picture of the started window.
    return run_window(db_url=db_url, demo=demo, screenshot=os.environ.get("SIGNOFF_SCREENSHOT") or None)


def _open_tui(db_url: str | None, demo: bool, reviewer: str | None, team: bool | None) -> int:
    from app.tui.app import run_tui

    return run_tui(db_url=db_url, demo=demo, reviewer=reviewer, team=team)


def main(argv: Sequence[str] | None = None) -> int:
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] == ["hook", "claude-code"]:
        # Once per agent tool call, on its critical path: skip the command line package (asyncio, the big parser).
        from app.services.adapters import claude_code

        options = claude_code.parse_options(args[2:])
        if options is not None:
            return claude_code.main(db_url=options[0], timeout_s=options[1])
    from app.cli import main as run_command

    return run_command(argv, open_window=_open_window, open_tui=_open_tui)
