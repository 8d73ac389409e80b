"""Gitignore-like path globs over workspace-relative '/'-separated paths, shared by policies and review rules.

Pure: no I/O, no Qt.
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=512)
def path_glob_regex(pattern: str) -> re.Pattern[str]:
    """Gitignore-like: `*` and `?` stay within one folder, `**` crosses folders, a pattern without '/' matches a name
    at any depth, a leading '/' anchors at the root, and a pattern also covers everything under a folder it names."""
    body = pattern.strip()
    anchored = "/" in body.rstrip("/")
    body = body.lstrip("/")
    if body.endswith("/"):
        body += "**"
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if body.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if body.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = body.find("]", index + 2)
            if end == -1:
                out.append(re.escape(char))
            else:
                inner = body[index + 1 : end]
                negate = inner.startswith("!")
                members = "".join(c if c == "-" else re.escape(c) for c in (inner[1:] if negate else inner))
                out.append("[" + ("^" if negate else "") + members + "]")
                index = end + 1
                continue
        else:
            out.append(re.escape(char))
        index += 1
    prefix = "" if anchored else "(?:.*/)?"
    return re.compile(prefix + "".join(out) + r"(?:/.*)?\Z", re.DOTALL)
