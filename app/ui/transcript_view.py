"""One session's conversation as it streams: the agent's text, its tool calls, and what each call returned.

Rebuilt from the stored transcript when a session is opened after a restart; then extended by live events.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtGui import QBrush, QColor, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QTextBrowser

from app.domain.records import MessageRecord
from app.services import events
from app.ui.theme import current_colours


def describe_tool_call(name: str, tool_input: Any) -> str:
    """A one-line human description of a tool call: 'view greet.py', 'str_replace greet.py', '$ make test'."""
    if not isinstance(tool_input, dict):
        return f"{name} (malformed input)"
    if name == "run_command":
        return f"$ {tool_input.get('command', '')}"
    if name == "propose_plan":
        steps = tool_input.get("steps")
        count = len(steps) if isinstance(steps, list) else 0
        return f"propose plan: {str(tool_input.get('title', ''))[:120]} ({count} steps)"
    if name == "delegate":
        task = str(tool_input.get("task", "")).splitlines()[0][:120] if tool_input.get("task") else ""
        return f"delegate to a {str(tool_input.get('role', '?'))[:20]}: {task}"
    command = tool_input.get("command", "?")
    return f"{command} {tool_input.get('path', '')}".strip()


# The theme colours transcript text is written in (other roles may share a value, so only these are mapped).
_ROLES = ("link", "reject", "muted")
FLUSH_INTERVAL_MS = 16


class TranscriptView(QTextBrowser):
    def __init__(self, session_id: int, parent=None) -> None:
        super().__init__(parent)
        self.session_id = session_id
        self.setOpenLinks(False)
        self.setReadOnly(True)
        self.setObjectName(f"transcript-{session_id}")
        self._in_text = False
        self._tool_inputs: dict[str, str] = {}
        # The theme colours the shown text was written in; a new theme recolours it (see changeEvent).
        self._colours = dict(current_colours())
        # Streamed text is inserted once per frame, not once per delta: each insert lays out the whole growing
        # paragraph, and eight agents streaming at once would otherwise stall the window (tests/benchmarks).
        self._pending_text: list[str] = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self._flush_text)

    # -- building blocks ----------------------------------------------------------------------------------------------

    def _flush_text(self) -> None:
        if self._pending_text:
            text, self._pending_text = "".join(self._pending_text), []
            self._append_text(text)

    def _append_html(self, markup: str) -> None:
        self._flush_text()
        self._in_text = False
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if not self.document().isEmpty():
            cursor.insertBlock()
        cursor.insertHtml(markup)
        self._scroll_to_end()

    def _append_text(self, text: str) -> None:
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if not self._in_text:
            if not self.document().isEmpty():
                cursor.insertBlock()
            self._in_text = True
        cursor.insertText(text, QTextCharFormat())
        self._scroll_to_end()

    def _scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def add_task(self, task: str) -> None:
        self._append_html(f"<p><b>Task</b><br>{html.escape(task).replace(chr(10), '<br>')}</p>")

    def add_tool_call(self, name: str, tool_input: Any) -> None:
        line = html.escape(describe_tool_call(name, tool_input))
        link = self._colours["link"]
        self._append_html(f"<p style='margin:0'><span style='color:{link}'>▸ {line}</span></p>")

    def add_tool_result(self, text: str, is_error: bool, status: str | None = None) -> None:
        first_lines = text.splitlines()[:3]
        summary = "<br>".join(html.escape(line[:200]) for line in first_lines)
        if len(text.splitlines()) > 3:
            summary += " …"
        colour = self._colours["reject"] if is_error else self._colours["muted"]
        label = f"{status} · " if status else ""
        self._append_html(
            f"<p style='margin:0 0 6px 16px; color:{colour}; font-family:monospace'>{html.escape(label)}{summary}</p>"
        )

    def add_status(self, text: str) -> None:
        muted = self._colours["muted"]
        self._append_html(f"<p style='color:{muted}'><i>{html.escape(text)}</i></p>")

    # -- theme ---------------------------------------------------------------------------------------------------------

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.recolour(current_colours())

    def recolour(self, colours: dict[str, str]) -> None:
        """Repaint text written in the previous theme's colours in the new theme's (the roles stay the same)."""
        mapping = {
            QColor(old).rgb(): QColor(colours[role])
            for role, old in self._colours.items()
            if role in _ROLES and old != colours[role]
        }
        self._colours = dict(colours)
        if not mapping:
            return
        block = self.document().begin()
        while block.isValid():
            iterator = block.begin()
            while not iterator.atEnd():
                fragment = iterator.fragment()
                written = fragment.charFormat()
                coloured = written.hasProperty(QTextFormat.Property.ForegroundBrush)
                new = mapping.get(written.foreground().color().rgb()) if coloured else None
                if new is not None:
                    cursor = QTextCursor(self.document())
                    cursor.setPosition(fragment.position())
                    cursor.setPosition(fragment.position() + fragment.length(), QTextCursor.MoveMode.KeepAnchor)
                    recoloured = QTextCharFormat()
                    recoloured.setForeground(QBrush(new))
                    cursor.mergeCharFormat(recoloured)
                iterator += 1
            block = block.next()

    # -- from the database ---------------------------------------------------------------------------------------------

    def load(self, task: str, messages: list[MessageRecord]) -> None:
        # Streamed text not yet shown is in the stored messages being loaded.
        self._pending_text = []
        self.clear()
        self._in_text = False
        for message in messages:
            if message.role == "user":
                for block in message.content:
                    if block.get("type") == "text" and message.seq == 0:
                        self.add_task(block.get("text", ""))
                    elif block.get("type") == "tool_result":
                        content = block.get("content", "")
                        if isinstance(content, list):
                            content = "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
                        self.add_tool_result(str(content), bool(block.get("is_error")))
            else:
                for block in message.content:
                    if block.get("type") == "text":
                        self._append_text(block.get("text", ""))
                    elif block.get("type") == "tool_use":
                        self.add_tool_call(block.get("name", ""), block.get("input"))
        if not messages:
            self.add_task(task)

    # -- live ----------------------------------------------------------------------------------------------------------

    def on_event(self, event: events.SessionEvent) -> None:
        if isinstance(event, events.TextDelta):
            self._pending_text.append(event.text)
            # A transcript nobody sees keeps its streamed text until it is shown (or its turn's tool calls arrive).
            if self.isVisible() and not self._flush_timer.isActive():
                self._flush_timer.start()
        elif isinstance(event, events.ToolCallStarted):
            self._tool_inputs[event.tool_use_id] = ""
        elif isinstance(event, events.ToolInputDelta):
            self._tool_inputs[event.tool_use_id] = self._tool_inputs.get(event.tool_use_id, "") + event.partial_json
        elif isinstance(event, events.AssistantMessageDone):
            for block in event.content:
                if block.get("type") == "tool_use":
                    self.add_tool_call(block["name"], block.get("input"))
            self._tool_inputs.clear()
        elif isinstance(event, events.ToolResultSent):
            self.add_tool_result(event.text, event.is_error, event.proposal_status)
        elif isinstance(event, events.StatusChanged) and event.detail and event.status not in ("running",):
            self.add_status(event.detail)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._flush_text()
        super().showEvent(event)

    def plain_text(self) -> str:
        self._flush_text()
        return self.toPlainText()
