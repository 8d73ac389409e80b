"""The Export dialog: pick a format, filters and a place, then write the dataset off the UI thread with progress;
Cancel stops it and leaves no partial file. The export itself lives in app.services.export; this is only the form.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.domain.preference import SOURCES
from app.domain.wording import count
from app.services.export import (
    FORMAT_DESCRIPTIONS,
    FORMATS,
    ExportCancelled,
    ExportError,
    ExportFilters,
    ExportOptions,
    ExportProgress,
    ExportReport,
    command_line,
    existing_targets,
    export_dataset,
    parse_when,
    validate,
)
from app.store.errors import StoreError
from app.ui.background import start_worker

VERDICTS = ("approve", "reject", "edit")


class _Relay(QObject):
    """Carries the worker thread's news to the dialog's thread (queued signals)."""

    progressed = Signal(object)
    done = Signal(object)
    failed = Signal(str)
    cancelled = Signal()


class ExportDialog(QDialog):
    """Emits ``exported`` with the ExportReport when an export finishes."""

    exported = Signal(object)

    def __init__(self, database: Any, *, parent: QWidget | None = None, default_folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export decisions as a dataset")
        self.setObjectName("exportDialog")
        self._database = database
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self.report: ExportReport | None = None
        self._relay = _Relay(self)
        self._relay.progressed.connect(self._on_progress)
        self._relay.done.connect(self._on_done)
        self._relay.failed.connect(self._on_failed)
        self._relay.cancelled.connect(self._on_cancelled)
        # Asked before an export would replace files that exist; tests (and embedders) put their own answer here.
        self.confirm_overwrite: Callable[[list[Path]], bool] = self._ask_overwrite

        form = self._build_format_and_folder(default_folder)
        filters = self._build_filters()
        output = self._build_output()
        self._build_status()
        buttons = self._build_buttons()

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(filters)
        layout.addWidget(output)
        layout.addWidget(QLabel("Same as:"))
        layout.addWidget(self.command_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        self.resize(720, self.sizeHint().height())

        self._connect_form()

    # -- building ------------------------------------------------------------------------------------------------------

    def _build_format_and_folder(self, default_folder: Path | None) -> QFormLayout:
        """The format picker with its help line, and where to save."""
        self.format_combo = QComboBox()
        for name in FORMATS:
            self.format_combo.addItem(name, name)
            self.format_combo.setItemData(
                self.format_combo.count() - 1, FORMAT_DESCRIPTIONS[name], Qt.ItemDataRole.ToolTipRole
            )
        self.format_help = QLabel("")
        self.format_help.setObjectName("formatHelp")
        self.format_help.setWordWrap(True)

        folder = default_folder or Path.home() / "signoff-datasets"
        self.out_edit = QLineEdit(str(folder / "trl-dpo"))
        self.out_edit.setToolTip(
            "A folder (the data files and README.md go in it) or a .jsonl file path (its card goes beside it as "
            "NAME.card.md). Existing files are replaced only after you confirm."
        )
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Format", self.format_combo)
        form.addRow("", self.format_help)
        form.addRow("Save to", out_row)
        return form

    def _build_filters(self) -> QGroupBox:
        """Which decisions: dates, workspace, reviewer, model, verdicts, sources, time on screen."""
        self.since_edit = QLineEdit()
        self.since_edit.setPlaceholderText("YYYY-MM-DD (any)")
        self.until_edit = QLineEdit()
        self.until_edit.setPlaceholderText("YYYY-MM-DD (any)")
        dates = QHBoxLayout()
        dates.addWidget(self.since_edit)
        dates.addWidget(QLabel("to"))
        dates.addWidget(self.until_edit)
        self.workspace_edit = QLineEdit()
        self.workspace_edit.setPlaceholderText("any workspace (full path)")
        self.reviewer_edit = QLineEdit()
        self.reviewer_edit.setPlaceholderText("any reviewer")
        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText("any model")
        self.verdict_boxes = {name: QCheckBox(name) for name in VERDICTS}
        self.source_boxes = {name: QCheckBox(name) for name in SOURCES}
        for box in (*self.verdict_boxes.values(), *self.source_boxes.values()):
            box.setChecked(True)
        self.min_seconds = QDoubleSpinBox()
        self.min_seconds.setRange(0.0, 3600.0)
        self.min_seconds.setDecimals(1)
        self.min_seconds.setSuffix(" s on screen")
        filters = QGroupBox("Which decisions")
        filter_form = QFormLayout(filters)
        filter_form.addRow("Decided", dates)
        filter_form.addRow("Workspace", self.workspace_edit)
        filter_form.addRow("Reviewer", self.reviewer_edit)
        filter_form.addRow("Model", self.model_edit)
        filter_form.addRow("Verdicts", _row(self.verdict_boxes.values()))
        filter_form.addRow("Sources", _row(self.source_boxes.values()))
        filter_form.addRow("At least", self.min_seconds)
        return filters

    def _build_output(self) -> QGroupBox:
        """The test split with its seed, redaction and deduplication."""
        self.split_spin = QDoubleSpinBox()
        self.split_spin.setRange(0.0, 0.9)
        self.split_spin.setSingleStep(0.05)
        self.split_spin.setDecimals(2)
        self.split_spin.setSpecialValueText("no test split")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.redact_box = QCheckBox("Redact secrets (API keys, tokens, private keys, passwords in URLs)")
        self.redact_box.setChecked(True)
        self.dedupe_box = QCheckBox("Drop rows identical to an earlier one")
        self.dedupe_box.setChecked(True)
        self.verifier_margin_box = QCheckBox("Margin from the verifier's reward gap (trl-reward), not the strength")
        self.verifier_margin_box.setObjectName("verifierMargin")
        output = QGroupBox("Output")
        output_form = QFormLayout(output)
        split_row = QHBoxLayout()
        split_row.addWidget(self.split_spin)
        split_row.addWidget(QLabel("of sessions in test, seed"))
        split_row.addWidget(self.seed_spin)
        output_form.addRow("Split", split_row)
        output_form.addRow("", self.redact_box)
        output_form.addRow("", self.dedupe_box)
        output_form.addRow("", self.verifier_margin_box)
        return output

    def _build_status(self) -> None:
        """The equivalent command, the progress bar and the status line."""
        self.command_label = QLabel("")
        self.command_label.setObjectName("exportCommand")
        self.command_label.setWordWrap(True)
        self.command_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status_label = QLabel("")
        self.status_label.setObjectName("exportStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label.setMinimumHeight(self.fontMetrics().lineSpacing() * 3)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

    def _build_buttons(self) -> QHBoxLayout:
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_export)
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        return buttons

    def _connect_form(self) -> None:
        """Every field updates the equivalent command; the format sets its defaults."""
        self._last_format = self.format_combo.currentData()
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        for edit in (
            self.out_edit,
            self.since_edit,
            self.until_edit,
            self.workspace_edit,
            self.reviewer_edit,
            self.model_edit,
        ):
            edit.textChanged.connect(self._update_command)
        for box in (
            *self.verdict_boxes.values(),
            *self.source_boxes.values(),
            self.redact_box,
            self.dedupe_box,
            self.verifier_margin_box,
        ):
            box.toggled.connect(self._update_command)
        for spin in (self.min_seconds, self.split_spin, self.seed_spin):
            spin.valueChanged.connect(self._update_command)
        self._format_changed()

    # -- the form ------------------------------------------------------------------------------------------------------

    def set_format(self, name: str) -> None:
        self.format_combo.setCurrentIndex(FORMATS.index(name))

    def _format_changed(self, _index: int = 0) -> None:
        name = self.format_combo.currentData()
        self.format_help.setText(FORMAT_DESCRIPTIONS[name])
        self.verifier_margin_box.setEnabled(name == "trl-reward")
        # Keep a default path in step with the format; a path the reviewer typed stays as typed.
        out = Path(self.out_edit.text())
        if out.name == self._last_format:
            self.out_edit.setText(str(out.with_name(name)))
        self._last_format = name
        self._update_command()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the dataset", self.out_edit.text())
        if folder:
            self.out_edit.setText(folder)

    def options(self) -> ExportOptions:
        """The options the form describes; raises ExportError for anything that cannot run."""
        out = self.out_edit.text().strip()
        if not out:
            raise ExportError("Choose where to save the dataset.")
        verdicts = tuple(name for name, box in self.verdict_boxes.items() if box.isChecked())
        sources = tuple(name for name, box in self.source_boxes.items() if box.isChecked())
        if not verdicts or not sources:
            raise ExportError("Tick at least one verdict and one source, or nothing can be exported.")
        workspace = self.workspace_edit.text().strip()
        options = ExportOptions(
            format=self.format_combo.currentData(),
            out=Path(out).expanduser(),
            filters=ExportFilters(
                since=parse_when(self.since_edit.text().strip() or None),
                until=parse_when(self.until_edit.text().strip() or None, end_of_day=True),
                workspace=str(Path(workspace).expanduser().resolve()) if workspace else None,
                reviewer=self.reviewer_edit.text().strip() or None,
                model=self.model_edit.text().strip() or None,
                # All ticked is the same as no filter, and keeps the command short.
                verdicts=() if len(verdicts) == len(VERDICTS) else verdicts,
                sources=() if len(sources) == len(SOURCES) else sources,
                min_seconds=self.min_seconds.value() or None,
            ),
            split=self.split_spin.value() or None,
            seed=self.seed_spin.value(),
            redact=self.redact_box.isChecked(),
            dedupe=self.dedupe_box.isChecked(),
            margin="verifier"
            if self.verifier_margin_box.isChecked() and self.format_combo.currentData() == "trl-reward"
            else "strength",
        )
        validate(options)
        return options

    def _update_command(self, *_args: Any) -> None:
        try:
            self.command_label.setText(command_line(self.options()))
        except ExportError as err:
            self.command_label.setText(f"({err})")

    # -- running -------------------------------------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def reopened(self) -> None:
        """Opened again after an earlier export: the form keeps its choices, the last run's result and progress go
        (an export still running keeps showing its progress)."""
        if self.is_running:
            return
        self.report = None
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self._show_status("")

    def start_export(self) -> bool:
        """Start writing in a worker thread; False (and the reason shown) when the form cannot run."""
        if self.is_running:
            return False
        try:
            options = self.options()
        except ExportError as err:
            self._show_status(str(err), error=True)
            return False
        existing = existing_targets(options)
        if existing:
            if not self.confirm_overwrite(existing):
                self._show_status(f"Nothing written: {_names(existing)} already there and kept.", error=True)
                return False
            options = replace(options, force=True)
        self.report = None
        self._cancel = threading.Event()
        self.progress.setRange(0, 0)  # busy until the first count arrives
        self._show_status("Counting decisions…")
        self._set_running(True)
        self._thread = start_worker(self._work, options, self._cancel, self._relay, name="signoff-export")
        return True

    def _ask_overwrite(self, paths: list[Path]) -> bool:
        """Called from the Export button's click (never from a coroutine), so a modal question is safe here."""
        answer = QMessageBox.question(
            self,
            "Replace existing files?",
            f"{_names(paths)} already {'exists' if len(paths) == 1 else 'exist'}. Replace "
            f"{'it' if len(paths) == 1 else 'them'} with this export?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _work(self, options: ExportOptions, cancel: threading.Event, relay: _Relay) -> None:
        try:
            report = export_dataset(self._database, options, progress=relay.progressed.emit, cancel=cancel)
        except ExportCancelled:
            relay.cancelled.emit()
        except (ExportError, StoreError) as err:
            relay.failed.emit(str(err))
        except Exception as err:  # the worker must always report back, or the dialog would wait forever
            relay.failed.emit(f"The export failed: {type(err).__name__}: {err}")
        else:
            relay.done.emit(report)

    def cancel_export(self) -> None:
        if self.is_running:
            self._cancel.set()
            self._show_status("Cancelling…")

    def wait(self, timeout: float | None = None) -> bool:
        """Join the worker (True when it has ended); for closing and tests."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def _on_progress(self, progress: ExportProgress) -> None:
        if self._cancel.is_set():
            return
        total = max(progress.decisions_total, 1)
        self.progress.setRange(0, total)
        self.progress.setValue(min(progress.decisions_done, total))
        self._show_status(
            f"{progress.decisions_done:,} of {count(progress.decisions_total, 'decision')} read · "
            f"{count(progress.rows_written, 'row')} written"
        )

    def _on_done(self, report: ExportReport) -> None:
        self.wait()
        self.report = report
        self._set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        files = ", ".join(str(path) for path in report.files.values())
        redaction = (
            f"{count(report.redacted, 'secret')} redacted"
            if report.redactions or self.redact_box.isChecked()
            else "no redaction"
        )
        workers = f" by {count(report.workers, 'worker process', 'worker processes')}" if report.workers else ""
        self._show_status(
            f"Wrote {count(report.total_rows, 'row')} from {count(report.decisions, 'decision')} "
            f"in {report.seconds:.1f} s"
            f"{workers} to "
            f"{files} (card: {report.card.name}); {count(report.duplicates_dropped, 'duplicate')} dropped; {redaction}."
            + (f"\n{fewer}" if (fewer := report.why_fewer_rows()) else "")
        )
        self.exported.emit(report)

    def _on_failed(self, message: str) -> None:
        self.wait()
        self._set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self._show_status(message, error=True)

    def _on_cancelled(self) -> None:
        self.wait()
        self._set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self._show_status("Cancelled: nothing was written.")

    def _set_running(self, running: bool) -> None:
        self.export_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for widget in self.findChildren(QGroupBox):
            widget.setEnabled(not running)
        self.format_combo.setEnabled(not running)
        self.out_edit.setEnabled(not running)

    def _show_status(self, text: str, *, error: bool = False) -> None:
        self.status_label.setProperty("kind", "error" if error else "info")
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)
        self.status_label.setText(text)
        # A long status (the why of fewer rows) makes the dialog taller rather than being cut off.
        needed = self.status_label.heightForWidth(self.status_label.width())
        if self.isVisible() and needed > self.status_label.height():
            self.resize(self.width(), self.height() + needed - self.status_label.height())

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        # Closing mid-export cancels it; the worker stops at its next batch and removes its temp files.
        self._cancel.set()
        self.wait(10.0)
        super().closeEvent(event)

    def reject(self) -> None:
        self._cancel.set()
        self.wait(10.0)
        super().reject()


def _row(boxes) -> QWidget:
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    for box in boxes:
        layout.addWidget(box)
    layout.addStretch(1)
    return holder


def _names(paths: list[Path]) -> str:
    return ", ".join(str(path) for path in paths)
