"""Limits on what a person or an agent may hand Signoff as file content or a command line, each with a message
that says what was refused and why. Pure checks over bytes and text; reading files is the caller's job. No Qt here."""

from __future__ import annotations

from app.domain.shell_parse import MAX_COMMAND_CHARS

# The default of Settings.max_edit_bytes: file content (an edit, an agent's file_text) above it is refused.
DEFAULT_MAX_EDIT_BYTES = 5 * 1024 * 1024

__all__ = ["DEFAULT_MAX_EDIT_BYTES", "MAX_COMMAND_CHARS", "InputLimitError", "check_command_text", "check_edit_bytes"]


class InputLimitError(ValueError):
    """The content is over a limit or not the text expected; the message names it and the limit."""


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):.1f} MB" if count >= 1024 * 1024 else f"{count:,} bytes"


def check_edit_bytes(content: bytes, *, what: str, max_bytes: int = DEFAULT_MAX_EDIT_BYTES, text: bool = True) -> None:
    """Refuse file content above ``max_bytes`` and, where text is expected, binary or non-UTF-8 content."""
    if len(content) > max_bytes:
        raise InputLimitError(
            f"{what} is {_size(len(content))}, more than the {_size(max_bytes)} Signoff accepts for an edit "
            "(Settings: max_edit_bytes); nothing was changed."
        )
    if not text:
        return
    if b"\x00" in content:
        raise InputLimitError(f"{what} holds binary data (a NUL byte), where text is expected; nothing was changed.")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputLimitError(
            f"{what} is not UTF-8 text (byte {err.start} cannot be read), where text is expected; nothing was changed."
        ) from None


def check_command_text(command: str, *, what: str = "The command line") -> None:
    if len(command) > MAX_COMMAND_CHARS:
        raise InputLimitError(
            f"{what} is {len(command):,} characters long, more than the {MAX_COMMAND_CHARS:,} Signoff accepts; "
            "nothing was run."
        )
