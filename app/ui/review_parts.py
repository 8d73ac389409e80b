"""The review pane's small parts: its title line, hunk marks, the deceptive-character scanner, the reason and edit
boxes, and text helpers. Used by ReviewPanel and its mixins; nothing here knows the pane."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QPlainTextEdit,
)

from app.domain import hunks, proposal_warnings
from app.domain.diff_types import FileDiff
from app.domain.diffing import proposal_diff
from app.domain.records import ProposalRecord
from app.domain.tools import EFFECTS_KIND
from app.ui.background import start_worker


def proposal_title(proposal: ProposalRecord) -> str:
    if proposal.kind == "plan":
        return f"#{proposal.id} · Plan: {proposal.command}  ({proposal.lines_added} steps)"
    if proposal.kind == "delegate":
        return f"#{proposal.id} · Delegate to {proposal.command}"
    if proposal.kind == "command":
        where = proposal.cwd if proposal.cwd not in (None, "", ".") else "the workspace root"
        what = f"Run command in {where}"
    elif proposal.kind == EFFECTS_KIND:
        origin = proposal.tool_input or {}
        change = (origin.get("effect") or {}).get("change", "changed")
        what = f"Held change of command #{origin.get('command_proposal')}: {proposal.path} {change}"
    elif proposal.kind == "create":
        what = f"New file {proposal.path}  (+{proposal.lines_added})"
    elif proposal.kind == "changeset":
        count = len(proposal.changeset_files)
        names = ", ".join(changed.path for changed in proposal.changeset_files[:6])
        more = f" and {count - 6} more" if count > 6 else ""
        what = (
            f"Changeset: {count} file{'' if count == 1 else 's'}  (+{proposal.lines_added} −{proposal.lines_removed})"
            f"  ·  {names}{more}"
        )
    else:
        what = f"Edit {proposal.path}  (+{proposal.lines_added} −{proposal.lines_removed})"
    return f"#{proposal.id} · {what}"


HUNK_MARKS = {hunks.APPROVE: "✓", hunks.REJECT: "✗", hunks.EDIT: "✎"}
UNDECIDED_MARK = "○"


class DeceptiveScanner(QObject):
    """Finds hidden or deceptive characters in proposals' added text, once per proposal: inline when small, on a
    short-lived worker thread when large; ``found`` reports each proposal's findings (possibly empty)."""

    found = Signal(int, object)
    # Emitted from the worker thread; queued to the scanner's own thread, where results are stored.
    _worker_done = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker_done.connect(self._on_worker_done, Qt.ConnectionType.QueuedConnection)
        self.results: dict[int, list[proposal_warnings.LocatedFinding]] = {}
        self._running: set[int] = set()

    def scan(
        self, proposal: ProposalRecord, diff: FileDiff | None = None
    ) -> list[proposal_warnings.LocatedFinding] | None:
        """The findings now if known or cheap; otherwise None, and ``found`` follows when the worker is done."""
        if proposal.id in self.results:
            return self.results[proposal.id]
        if proposal.id in self._running:
            return None
        size = len(proposal.command or "") if proposal.kind == "command" else len(proposal.new_content or b"")
        if size <= proposal_warnings.LARGE_SCAN_BYTES:
            return self._store(proposal.id, _findings_of(proposal, diff))
        self._running.add(proposal.id)
        start_worker(self._scan_in_worker, proposal, name=f"deceptive-scan-{proposal.id}")
        return None

    def _scan_in_worker(self, proposal: ProposalRecord) -> None:
        try:
            findings = _findings_of(proposal, None)
        except Exception:  # a scan that fails must not leave the proposal marked as being scanned forever
            findings = []
        self._worker_done.emit(proposal.id, findings)

    def _on_worker_done(self, proposal_id: int, findings: list) -> None:
        self._running.discard(proposal_id)
        self._store(proposal_id, findings)

    def _store(self, proposal_id: int, findings: list) -> list:
        self.results[proposal_id] = findings
        self.found.emit(proposal_id, findings)
        return findings


def _findings_of(proposal: ProposalRecord, diff: FileDiff | None) -> list[proposal_warnings.LocatedFinding]:
    if proposal.kind == "command":
        return proposal_warnings.command_findings(proposal.command or "")
    if proposal.kind == "changeset":
        return proposal_warnings.added_line_findings(diff or changeset_diff(proposal))
    if proposal.new_content is None:
        return []
    diff = diff or proposal_diff(proposal.id, proposal.old_content, proposal.new_content, proposal.path or "file")
    return proposal_warnings.added_line_findings(diff)


class ElidedLabel(QLabel):
    """One line of plain text, cut with "…" to the width it gets; the whole text is its tooltip. Keeps a long task or
    path from taking rows away from the diff."""

    def setText(self, text: str) -> None:  # noqa: N802 (Qt override)
        super().setText(text)
        self.setToolTip(text)
        self.update()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(0, self.fontMetrics().height())

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        area = self.contentsRect()
        shown = self.fontMetrics().elidedText(
            self.text().replace("\n", " "), Qt.TextElideMode.ElideMiddle, area.width()
        )
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(area, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)


class ReasonBox(QLineEdit):
    cancelled = Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            return
        super().keyPressEvent(event)


class EditBox(QPlainTextEdit):
    submitted = Signal()
    cancelled = Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            return
        if (
            event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


def display_text(content: bytes | None) -> str | None:
    """The whole file for the view's folds and lexing; None for binary content (the view shows a summary)."""
    if content is None or b"\x00" in content[:8000]:
        return None
    return content.decode("utf-8", errors="replace")


def is_text(content: bytes | None) -> bool:
    if content is None or b"\x00" in content[:8000]:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def changeset_diff(proposal: ProposalRecord) -> FileDiff:
    """A changeset proposal's files as one diff for the diff view: one hunk per judged unit, numbered across files."""
    from app.domain.changeset import build

    return build(proposal.changeset_files).as_file_diff()
