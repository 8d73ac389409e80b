"""One session's conversation as it streams: the agent's text (as Markdown), its tool calls, and what each returned.

Every tool call is a disclosure link (click, or Tab to it and Enter) that opens its whole input and whole result in
place, capped with a "show all" link. Text from the agent or a tool is inserted as text, never as HTML; Markdown is
read without raw HTML and nothing is ever loaded from a link or an image. Colours come from the widget's palette.
"""

from __future__ import annotations

import secrets
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QTimer, QUrl
from PySide6.QtGui import (
    QFont,
    QFontDatabase,
    QImage,
    QPalette,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QTextBrowser

from app.domain.records import MessageRecord
from app.services import events
from app.ui.palette import palette_from
from app.ui.transcript_items import (
    AgentText,
    Disclosure,
    Item,
    Status,
    Task,
    ToolCall,
    ToolResult,
    call_details,
    capped,
    describe_tool_call,
    preview,
)

__all__ = ["TranscriptView", "describe_tool_call"]

# GitHub's Markdown (tables, task lists, strikethrough) without raw HTML: an agent's "<img src=…>" stays text.
MARKDOWN = QTextDocument.MarkdownFeature.MarkdownDialectGitHub | QTextDocument.MarkdownFeature.MarkdownNoHTML
INDENT_PX = 18
FLUSH_INTERVAL_MS = 16


class TranscriptView(QTextBrowser):
    def __init__(self, session_id: int, parent=None) -> None:
        super().__init__(parent)
        self.session_id = session_id
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setReadOnly(True)
        self.setObjectName(f"transcript-{session_id}")
        self.items: list[Item] = []
        self.disclosure = Disclosure()
        # Where each item starts in the document (before its block break), so a change re-renders only what follows.
        self._starts: list[int] = []
        # The first item appended while the current assistant message streams in; replaced when it is complete.
        self._live_from: int | None = None
        # Links the view makes carry a per-view secret, so a link in the agent's Markdown cannot pose as one of them.
        self._scheme = f"signoff-{secrets.token_hex(6)}"
        self._link_keys: list[str] = []
        self._link_numbers: dict[str, int] = {}
        self._made_up_keys = 0
        self.anchorClicked.connect(self._on_anchor)
        # Streamed text is inserted once per frame, not once per delta: each insert lays out the whole growing
        # paragraph, and eight agents streaming at once would otherwise stall the window (tests/benchmarks).
        self._pending_text: list[str] = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self._flush_text)

    # -- the document ----------------------------------------------------------------------------------------------

    def loadResource(self, kind: int, name: QUrl) -> Any:  # noqa: N802 (Qt override)
        """Nothing is fetched for a transcript: no image, no style sheet, no file, whatever the agent's text names.
        An empty answer, not None: on None the document reads a local file itself."""
        return QImage() if kind == QTextDocument.ResourceType.ImageResource.value else QByteArray()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) and self.items:
            self._render_from(0)

    def _append(self, item: Item) -> None:
        self._flush_text()
        self.items.append(item)
        following = self._at_end()
        self._render_items(len(self.items) - 1)
        if following:
            self._scroll_to_end()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        # A narrower view rewraps the text taller (the sidebar takes its width back when a proposal is decided): a
        # reader who was following the end keeps seeing it.
        following = self._at_end()
        super().resizeEvent(event)
        if following:
            self._scroll_to_end()

    def _at_end(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 4

    def _scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _render_from(self, index: int) -> None:
        """Draw items[index:] again (after a toggle, or once a streamed message is complete); the view stays put."""
        bar = self.verticalScrollBar()
        scrolled, following = bar.value(), self._at_end()
        index = min(index, len(self._starts))
        cursor = QTextCursor(self.document())
        if index < len(self._starts):
            cursor.setPosition(self._starts[index])
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            del self._starts[index:]
        self._render_items(index)
        if following:
            self._scroll_to_end()
        else:
            bar.setValue(scrolled)

    def _render_items(self, first: int) -> None:
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        for item in self.items[first:]:
            cursor.movePosition(QTextCursor.MoveOperation.End)
            self._starts.append(cursor.position())
            self._render(item, cursor)
        cursor.endEditBlock()

    # -- formats -----------------------------------------------------------------------------------------------------

    def _colour(self, role: QPalette.ColorRole):
        return self.palette().color(role)

    def _plain(self, *, bold: bool = False, italic: bool = False, muted: bool = False) -> QTextCharFormat:
        fmt = QTextCharFormat()
        fmt.setForeground(self._colour(QPalette.ColorRole.PlaceholderText if muted else QPalette.ColorRole.Text))
        if bold:
            fmt.setFontWeight(QFont.Weight.Bold)
        fmt.setFontItalic(italic)
        return fmt

    def _mono(self, *, error: bool = False) -> QTextCharFormat:
        fmt = QTextCharFormat()
        fmt.setFontFamilies([QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()])
        fmt.setFontFixedPitch(True)
        colour = palette_from(self.palette()).removed_sign if error else self._colour(QPalette.ColorRole.Text)
        fmt.setForeground(colour)
        return fmt

    def _link(self, href: str) -> QTextCharFormat:
        fmt = QTextCharFormat()
        fmt.setAnchor(True)
        fmt.setAnchorHref(href)
        fmt.setForeground(self._colour(QPalette.ColorRole.Link))
        return fmt

    def _block(self, cursor: QTextCursor, *, indent: int = 0, top: float = 4, shaded: bool = False) -> None:
        """Start a block for the next piece (the first piece of an empty document uses the one block there is)."""
        fmt = QTextBlockFormat()
        fmt.setLeftMargin(indent * INDENT_PX)
        fmt.setTopMargin(top)
        if shaded:
            fmt.setBackground(self._colour(QPalette.ColorRole.AlternateBase))
        if cursor.position() == 0:
            cursor.setBlockFormat(fmt)
            cursor.setBlockCharFormat(QTextCharFormat())
        else:
            cursor.insertBlock(fmt, QTextCharFormat())

    def _href(self, action: str, key: str) -> str:
        number = self._link_numbers.get(key)
        if number is None:
            number = self._link_numbers[key] = len(self._link_keys)
            self._link_keys.append(key)
        return f"{self._scheme}:{action}/{number}"

    # -- drawing one item ----------------------------------------------------------------------------------------------

    def _render(self, item: Item, cursor: QTextCursor) -> None:
        if isinstance(item, Task):
            self._block(cursor)
            cursor.insertText("Task", self._plain(bold=True))
            cursor.insertText("\n" + item.text, self._plain())
        elif isinstance(item, AgentText):
            self._block(cursor, top=6)
            if item.final:
                cursor.insertMarkdown(item.text, MARKDOWN)
            else:
                cursor.insertText(item.text, self._plain())
        elif isinstance(item, ToolCall):
            self._render_call(item, cursor)
        elif isinstance(item, ToolResult):
            self._render_result(item, cursor)
        elif isinstance(item, Status):
            self._block(cursor, top=6)
            cursor.insertText(item.text, self._plain(italic=True, muted=True))

    def _render_call(self, call: ToolCall, cursor: QTextCursor) -> None:
        open_ = call.key in self.disclosure.expanded
        self._block(cursor, top=6)
        cursor.insertText(f"{'▾' if open_ else '▸'} {call.title}", self._link(self._href("toggle", call.key)))
        if open_:
            self._capped_text(cursor, call_details(call.name, call.tool_input), call.key, "input", error=False)

    def _render_result(self, result: ToolResult, cursor: QTextCursor) -> None:
        open_ = result.key in self.disclosure.expanded
        label = f"{result.status} · " if result.status else ""
        if not open_:
            shown, more = preview(result.text)
            self._block(cursor, indent=1, top=2)
            cursor.insertText(label + shown, self._mono(error=result.is_error))
            if more:
                lines = len(result.text.splitlines())
                cursor.insertText("  ", self._mono())
                cursor.insertText(f"▸ whole output ({lines} lines)", self._link(self._href("toggle", result.key)))
            return
        if label:
            self._block(cursor, indent=1, top=2)
            cursor.insertText(label.removesuffix(" · "), self._plain(muted=True))
        self._capped_text(cursor, result.text, result.key, "result", error=result.is_error)
        self._block(cursor, indent=1, top=2)
        cursor.insertText("▴ less", self._link(self._href("toggle", result.key)))

    def _capped_text(self, cursor: QTextCursor, text: str, key: str, part: str, *, error: bool) -> None:
        shown = capped(text, show_all=(key, part) in self.disclosure.shown_all)
        # Each line becomes a block with this format: no top margin, so the shading runs unbroken.
        self._block(cursor, indent=1, top=0, shaded=True)
        cursor.insertText(shown.text.removesuffix("\n"), self._mono(error=error))
        if shown.hidden_chars:
            self._block(cursor, indent=1, top=2)
            what = (
                f"{shown.hidden_lines:,} more lines"
                if shown.hidden_lines
                else f"{shown.hidden_chars:,} more characters"
            )
            cursor.insertText(f"show all ({what})", self._link(self._href(f"all-{part}", key)))

    # -- links -----------------------------------------------------------------------------------------------------

    def _on_anchor(self, url: QUrl) -> None:
        """Open or close a call, or show a capped text whole; a link from the agent's text does nothing."""
        if url.scheme() != self._scheme:
            return
        action, _, number = url.path().partition("/")
        try:
            key = self._link_keys[int(number)]
        except (ValueError, IndexError):
            return
        if action == "toggle":
            self.disclosure.toggle(key)
        elif action in ("all-input", "all-result"):
            self.disclosure.shown_all.add((key, action.removeprefix("all-")))
        else:
            return
        first = next((i for i, item in enumerate(self.items) if getattr(item, "key", None) == key), len(self.items))
        self._render_from(first)
        self._focus_link(self._href("toggle", key))

    def _focus_link(self, href: str) -> None:
        """Put the keyboard's link selection back on ``href`` (Enter toggles it again)."""
        block = self.document().begin()
        while block.isValid():
            fragments = block.begin()
            while not fragments.atEnd():
                fragment = fragments.fragment()
                if fragment.charFormat().anchorHref() == href:
                    cursor = QTextCursor(self.document())
                    cursor.setPosition(fragment.position())
                    cursor.setPosition(fragment.position() + fragment.length(), QTextCursor.MoveMode.KeepAnchor)
                    bar, scrolled = self.verticalScrollBar(), self.verticalScrollBar().value()
                    self.setTextCursor(cursor)
                    bar.setValue(scrolled)
                    return
                fragments += 1
            block = block.next()

    def link_hrefs(self, text: str) -> list[str]:
        """The hrefs of links whose text contains ``text`` (for the tests and a future "open all")."""
        found = []
        block = self.document().begin()
        while block.isValid():
            fragments = block.begin()
            while not fragments.atEnd():
                fragment = fragments.fragment()
                if fragment.charFormat().isAnchor() and text in fragment.text():
                    found.append(fragment.charFormat().anchorHref())
                fragments += 1
            block = block.next()
        return found

    # -- building from outside -----------------------------------------------------------------------------------

    def _key(self, tool_use_id: Any) -> str:
        if isinstance(tool_use_id, str) and tool_use_id:
            return tool_use_id
        self._made_up_keys += 1
        return f"unpaired-{self._made_up_keys}"

    def add_task(self, task: str) -> None:
        self._live_from = None
        self._append(Task(task))

    def add_tool_call(self, name: str, tool_input: Any, tool_use_id: str | None = None) -> None:
        self._append(ToolCall(self._key(tool_use_id), name, tool_input))

    def add_tool_result(
        self, text: str, is_error: bool, status: str | None = None, tool_use_id: str | None = None
    ) -> None:
        self._append(ToolResult(self._key(tool_use_id), text, is_error, status))

    def add_status(self, text: str) -> None:
        self._append(Status(text))

    def load(self, task: str, messages: list[MessageRecord]) -> None:
        """Show a stored transcript (opened after a restart, or after a pick replaced a step)."""
        self.clear()
        self.items, self._starts, self._live_from = [], [], None
        self._pending_text = []
        for message in messages:
            for block in message.content:
                kind = block.get("type")
                if message.role == "user" and kind == "text" and message.seq == 0:
                    self.items.append(Task(block.get("text", "")))
                elif message.role == "user" and kind == "tool_result":
                    content = block.get("content", "")
                    if isinstance(content, list):
                        content = "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
                    key = self._key(block.get("tool_use_id"))
                    self.items.append(ToolResult(key, str(content), bool(block.get("is_error"))))
                elif message.role != "user" and kind == "text":
                    self.items.append(AgentText(block.get("text", ""), final=True))
                elif message.role != "user" and kind == "tool_use":
                    self.items.append(ToolCall(self._key(block.get("id")), block.get("name", ""), block.get("input")))
        if not messages:
            self.items.append(Task(task))
        self._render_items(0)
        self._scroll_to_end()

    # -- live --------------------------------------------------------------------------------------------------------

    def on_event(self, event: events.SessionEvent) -> None:
        if isinstance(event, events.TextDelta):
            self._pending_text.append(event.text)
            # A transcript nobody sees keeps its streamed text until it is shown (or its turn's tool calls arrive).
            if self.isVisible() and not self._flush_timer.isActive():
                self._flush_timer.start()
        elif isinstance(event, events.AssistantMessageDone):
            self._message_done(event.content)
        elif isinstance(event, events.ToolResultSent):
            self.add_tool_result(event.text, event.is_error, event.proposal_status, event.tool_use_id)
        elif isinstance(event, events.StatusChanged) and event.detail and event.status not in ("running",):
            self.add_status(event.detail)

    def _flush_text(self) -> None:
        if self._pending_text:
            text, self._pending_text = "".join(self._pending_text), []
            self._stream_text(text)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._flush_text()
        super().showEvent(event)

    def _stream_text(self, text: str) -> None:
        last = self.items[-1] if self.items else None
        if isinstance(last, AgentText) and not last.final and self._live_from is not None:
            last.text += text
            following = self._at_end()
            cursor = QTextCursor(self.document())
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(text, self._plain())
            if following:
                self._scroll_to_end()
            return
        if self._live_from is None:
            self._live_from = len(self.items)
        self._append(AgentText(text))

    def _message_done(self, content: list[dict[str, Any]]) -> None:
        """The streamed text is replaced by the complete message: its text as Markdown, then its tool calls."""
        self._flush_text()
        start = len(self.items) if self._live_from is None else self._live_from
        self._live_from = None
        kept = [item for item in self.items[start:] if not (isinstance(item, AgentText) and not item.final)]
        complete: list[Item] = []
        for block in content:
            if block.get("type") == "text" and block.get("text"):
                complete.append(AgentText(block["text"], final=True))
            elif block.get("type") == "tool_use":
                complete.append(ToolCall(self._key(block.get("id")), block.get("name", ""), block.get("input")))
        self.items[start:] = kept + complete
        self._render_from(start)

    def plain_text(self) -> str:
        self._flush_text()
        return self.toPlainText()
