"""The terminal UI's screen as plain text lines, read from Textual's own SVG screenshot (app.export_screenshot()):
what a reviewer sees at 80x24, for snapshot comparisons that do not depend on colours or fonts."""

from __future__ import annotations

import html
import re

_TEXT = re.compile(
    r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="([\d.]+)" '
    r'clip-path="url\(#[\w-]+-line-(\d+)\)">([^<]*)</text>'
)


def screen_lines(svg: str, width: int = 80, height: int = 24) -> list[str]:
    """The screenshot's characters, one string per terminal row, right-trimmed."""
    grid = [[" "] * width for _ in range(height)]
    cell: float | None = None
    pieces = []
    for x, length, line, raw in _TEXT.findall(svg):
        text = html.unescape(raw).replace("\xa0", " ")
        pieces.append((float(x), int(line), text))
        if cell is None and text:
            cell = float(length) / len(text)
    for x, line, text in pieces:
        column = round(x / (cell or 1))
        for offset, char in enumerate(text):
            if 0 <= line < height and 0 <= column + offset < width:
                grid[line][column + offset] = char
    return ["".join(row).rstrip() for row in grid]
