"""Exports stored decisions as training datasets: typed options in, a typed ExportReport out. The export itself
(batches of sessions rendered in this process or, for large exports, in worker processes; files written under
temporary names and renamed into place whole) and the dataset card. An export never replaces a file that exists unless
its options say ``force`` (the command line's --force; the window asks first). Reading is in app.store.export_read,
rendering in app.services.export_rows, the command line in app.cli.export. No Qt here; cancellable from any thread.
"""

from __future__ import annotations

import datetime as dt
import gc
import glob
import os
import shlex
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.domain import preference as pref
from app.domain import wording
from app.domain.judgments import CRITIC_REVIEWER
from app.services import export_workers
from app.services.export_batches import BatchRenderer, BatchSpec, KeptCounts, Ledger, RowPlan
from app.services.export_rows import PAIR_FORMATS
from app.store.export_read import ExportFilters, count_decisions, judge_coverage, session_id_batches

__all__ = [
    "FORMATS",
    "FORMAT_DESCRIPTIONS",
    "PAIR_FORMATS",
    "ExportCancelled",
    "ExportError",
    "ExportFilters",
    "ExportOptions",
    "ExportProgress",
    "ExportReport",
    "ExportTargetsExistError",
    "command_line",
    "count_decisions",
    "dataset_card",
    "existing_targets",
    "export_dataset",
    "parse_when",
    "planned_files",
    "validate",
]

FORMATS = ("trl-dpo", "trl-kto", "trl-reward", "openai-dpo", "hh-rlhf", "sft", "raw", "trajectory")
MARGINS = ("strength", "verifier")
FORMAT_DESCRIPTIONS = {
    "trl-dpo": "TRL conversational preference, explicit prompt: prompt / chosen / rejected + tools (DPOTrainer).",
    "trl-kto": "TRL conversational unpaired preference: prompt / completion / label + tools (KTOTrainer).",
    "trl-reward": "TRL conversational preference, implicit prompt: chosen / rejected + margin + tools (RewardTrainer).",
    "openai-dpo": "OpenAI preference fine-tuning: input{messages, tools} / preferred_output / non_preferred_output.",
    "hh-rlhf": "Anthropic HH-RLHF style: chosen / rejected transcripts of Human/Assistant turns.",
    "sft": "TRL conversational prompt-completion + tools: the approved and reviewer-edited turns (SFTTrainer).",
    "raw": "One full-fidelity record per decision: session, proposal, decision, the exact prompt and completion.",
    "trajectory": "One row per session: the steps with the decisions and judges' signals, the final diff, resolved.",
}


class ExportError(Exception):
    """The export cannot run as asked; the message says why in one sentence."""


class ExportTargetsExistError(ExportError):
    """Files the export would write already exist and the options do not allow replacing them."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        names = ", ".join(str(path) for path in paths)
        verb = "exists" if len(paths) == 1 else "exist"
        super().__init__(f"{names} already {verb}; the export replaces nothing unless you allow it (--force).")


class ExportCancelled(Exception):
    """The export was cancelled; nothing was left behind."""


@dataclass(frozen=True)
class ExportOptions:
    format: str
    out: Path
    filters: ExportFilters = ExportFilters()
    # Fraction of sessions in the test split; None writes one file.
    split: float | None = None
    seed: int = 0
    redact: bool = True
    dedupe: bool = True
    # The command line that made it, for the dataset card (command_line() when None).
    command: str | None = None
    # Processes rendering rows: None picks by size (worker processes for large exports, one per core, up to 4).
    workers: int | None = None
    # Replace data files and card that already exist; without it an existing target stops the export before it starts.
    force: bool = False
    # trl-reward's `margin`: "strength" (the reviewer's 1-5 rating) or "verifier" (the verifier's reward gap).
    margin: str = "strength"


@dataclass(frozen=True)
class ExportProgress:
    decisions_done: int
    decisions_total: int
    rows_written: int


# What each reason a decision made no row (ExportReport.skipped) is called in the report's sentence.
_SKIP_WORDS = {
    "binary_content": ("binary file", "binary files"),
    "command_effects": ("change a command made", "changes commands made"),
    "missing_message": ("decision whose message is missing", "decisions whose message is missing"),
    "whitespace_only_edit": ("whitespace-only edit", "whitespace-only edits"),
    "reviewers_disagree": ("proposal its reviewers disagree on", "proposals their reviewers disagree on"),
}


@dataclass
class ExportReport:
    format: str
    files: dict[str, Path]
    card: Path
    rows: dict[str, int]
    decisions: int
    sessions: int
    by_source: dict[str, int] = field(default_factory=dict)
    by_label: dict[str, int] = field(default_factory=dict)
    reviewers: dict[str, int] = field(default_factory=dict)
    models: dict[str, int] = field(default_factory=dict)
    redactions: dict[str, int] = field(default_factory=dict)
    duplicates_dropped: int = 0
    # Proposals with more than one decision, and those whose decisions all agree.
    multi_reviewed: int = 0
    agreed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    first_decision: dt.datetime | None = None
    last_decision: dt.datetime | None = None
    command: str = ""
    seconds: float = 0.0
    # Worker processes used (0: rendered in the exporting process) and each one's peak resident memory.
    workers: int = 0
    worker_peaks_mb: list[float] = field(default_factory=list)
    # The machine judges' coverage (app.store.export_read.judge_coverage): decisions, verified, critic_pairs.
    judges: dict[str, Any] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def redacted(self) -> int:
        return sum(self.redactions.values())

    def why_fewer_rows(self) -> str | None:
        """One sentence on why the decisions made fewer rows than there are decisions, or None when they did not."""
        if self.total_rows >= self.decisions:
            return None
        reasons = [
            wording.count(number, *_SKIP_WORDS.get(why, (why.replace("_", " "), why.replace("_", " "))))
            for why, number in sorted(self.skipped.items(), key=lambda item: (-item[1], item[0]))
        ]
        said = []
        if self.format in PAIR_FORMATS:
            said.append(
                "a pair needs a rejection followed by its approved revision, an edit, or a compare pick; "
                "an approval or a rejection alone makes none"
            )
        if reasons:
            said.append("no row from " + ", ".join(reasons))
        if self.duplicates_dropped:
            said.append(f"{wording.count(self.duplicates_dropped, 'duplicate')} dropped")
        if not said:
            return None
        return "Fewer rows than decisions: " + "; ".join(said) + " (the card lists them)."


def command_line(options: ExportOptions, db: str | None = None) -> str:
    """The `signoff export` command that makes this export."""
    f = options.filters
    words = ["signoff", "export"]
    if db:
        words += ["--db", db]
    words += ["--format", options.format, "--out", str(options.out)]
    if f.since:
        words += ["--since", f.since.isoformat()]
    if f.until:
        words += ["--until", f.until.isoformat()]
    for flag, value in (("--workspace", f.workspace), ("--reviewer", f.reviewer), ("--model", f.model)):
        if value:
            words += [flag, value]
    for verdict in f.verdicts:
        words += ["--verdict", verdict]
    for source in f.sources:
        words += ["--source", source]
    if f.min_seconds is not None:
        words += ["--min-seconds", f"{f.min_seconds:g}"]
    if options.split is not None:
        words += ["--split", f"{options.split:g}", "--seed", str(options.seed)]
    if not options.redact:
        words.append("--no-redact")
    if not options.dedupe:
        words.append("--no-dedupe")
    if options.workers is not None:
        words += ["--workers", str(options.workers)]
    if options.margin != "strength":
        words += ["--margin", options.margin]
    return shlex.join(words)


def validate(options: ExportOptions) -> None:
    if options.format not in FORMATS:
        raise ExportError(f"Unknown format {options.format!r}; use one of {', '.join(FORMATS)}.")
    if options.split is not None and not (0.0 < options.split < 1.0):
        raise ExportError(
            f"--split is the fraction of sessions for the test file: a number between 0 and 1, not {options.split:g}."
        )
    f = options.filters
    if f.since and f.until and f.since > f.until:
        raise ExportError("--since is after --until; nothing could match.")
    for verdict in f.verdicts:
        if verdict not in ("approve", "reject", "edit"):
            raise ExportError(f"Unknown verdict {verdict!r}; use approve, reject or edit.")
    for source in f.sources:
        if source not in pref.SOURCES:
            raise ExportError(f"Unknown source {source!r}; use one of {', '.join(pref.SOURCES)}.")
    if f.min_seconds is not None and f.min_seconds < 0:
        raise ExportError("--min-seconds cannot be negative.")
    if options.margin not in MARGINS:
        raise ExportError(f"Unknown margin {options.margin!r}; use one of {', '.join(MARGINS)}.")
    if options.margin != "strength" and options.format != "trl-reward":
        raise ExportError("--margin is trl-reward's column; other formats have no margin.")
    if options.workers is not None and options.workers < 1:
        raise ExportError(f"--workers is how many processes render rows: 1 or more, not {options.workers}.")


# -- where the files go ------------------------------------------------------------------------------------------------


def planned_files(options: ExportOptions) -> tuple[dict[str, Path], Path]:
    """The data files by split name and the card path.

    A `.jsonl` path is the data file itself and its card goes beside it as ``<stem>.card.md`` (never the folder's
    README.md, which belongs to whoever owns that folder); anything else is a folder of the export's own, holding the
    data files and the card as README.md, where dataset hubs look for it.
    """
    out = Path(options.out).expanduser()
    if out.suffix == ".jsonl":
        if options.split is None:
            files = {"train": out}
        else:
            files = {"train": out.with_name(out.stem + ".train.jsonl"), "test": out.with_name(out.stem + ".test.jsonl")}
        return files, out.with_name(out.stem + ".card.md")
    if options.split is None:
        files = {"train": out / f"{options.format}.jsonl"}
    else:
        files = {"train": out / "train.jsonl", "test": out / "test.jsonl"}
    return files, out / "README.md"


def existing_targets(options: ExportOptions) -> list[Path]:
    """The data files and card of this export that already exist (what --force, or the window's question, allows
    replacing)."""
    files, card = planned_files(options)
    return [path for path in (*files.values(), card) if path.exists() or path.is_symlink()]


def _refuse_existing(options: ExportOptions) -> None:
    if options.force:
        return
    existing = existing_targets(options)
    if existing:
        raise ExportTargetsExistError(existing)


# -- the export --------------------------------------------------------------------------------------------------------


# Below this many decisions, starting worker processes (about 0.3 s each) costs more than it saves.
WORKERS_FROM_DECISIONS = 20_000
MAX_WORKERS = 4
# How many batches a collection of the young generations waits for (see _collector_paused).
_COLLECT_EVERY = 8


class _CollectorPause:
    """Automatic garbage collection off while rows are rendered: every batch makes about 100k short-lived, acyclic
    objects, and the collector walking them again and again took a third of the export's time. Nested and
    concurrent exports share one pause; the collector is back on when the last ends (if it was on before).

    Yields whether the export may collect young cycles itself between batches: only where automatic collection was
    on. The window turns it off and collects on the GUI thread (app.ui.garbage): a collection on the export's
    thread could free a Qt object there."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = True

    @contextmanager
    def __call__(self) -> Iterator[bool]:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1
            collect_here = self._was_enabled
        try:
            yield collect_here
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._was_enabled:
                    gc.enable()


_collector_paused = _CollectorPause()


def _worker_count(options: ExportOptions, database: Any, filters: ExportFilters) -> int:
    """Worker processes for this export; 0 renders in this process."""
    in_memory = database.url.get_backend_name() == "sqlite" and getattr(database, "path", None) is None
    if in_memory or not export_workers.available():
        return 0
    if options.workers is not None:
        wanted = options.workers
    else:
        wanted = min(os.cpu_count() or 1, MAX_WORKERS)
        if wanted > 1 and count_decisions(database, filters, up_to=WORKERS_FROM_DECISIONS) < WORKERS_FROM_DECISIONS:
            wanted = 1
    return wanted if wanted > 1 else 0


def export_dataset(
    database: Any,
    options: ExportOptions,
    *,
    progress: Callable[[ExportProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> ExportReport:
    """Write the dataset and its card; raises ExportError (bad options), ExportCancelled (nothing left behind)."""
    validate(options)
    _refuse_existing(options)
    started = time.perf_counter()
    files, card_path = planned_files(options)
    folder = card_path.parent
    created_folder = _prepare_folder(folder, options)

    filters = options.filters
    # The total is for progress only (not counted without a progress callback); with workers it is counted while
    # they render (see planned()).
    total: int | None = None
    report = ExportReport(options.format, files, card_path, {name: 0 for name in files}, 0, 0)
    report.command = options.command or command_line(options)
    spec = BatchSpec(options.format, filters, options.redact, options.split, options.seed, options.margin)
    ledger = Ledger(list(files), options.dedupe)
    kept = KeptCounts()
    redactions: dict[str, int] = {}
    temps: dict[str, Path] = {}
    fds: dict[str, int] = {}
    last_progress = 0.0

    def cancelled() -> bool:
        return cancel is not None and cancel.is_set()

    def planned(plan: RowPlan) -> None:
        nonlocal last_progress, total
        if total is None and progress is not None:
            total = count_decisions(database, filters)
        _add_plan(report, redactions, plan)
        now = time.perf_counter()
        if progress is not None and now - last_progress > 0.05:
            last_progress = now
            progress(ExportProgress(report.decisions, total or 0, ledger.rows))

    try:
        _remove_stale_partials([*files.values(), card_path])
        _open_partials(files, temps, fds)
        batches = session_id_batches(database, filters)
        workers = _worker_count(options, database, filters)
        with _collector_paused() as collect_here:
            if workers:
                report.workers = workers
                _render_in_workers(report, database, spec, temps, batches, ledger, planned, kept, cancelled)
            else:
                if progress is not None:
                    total = count_decisions(database, filters)
                renderer = BatchRenderer(database, spec)
                _render_here(renderer, batches, ledger, planned, kept, fds, cancelled, collect_here)
        if cancelled():
            raise ExportCancelled("The export was cancelled; no file was written.")
        for fd in fds.values():
            # On disk before the rename, so a power loss leaves the old file or the whole new one, never a torn one.
            os.fsync(fd)
        _complete_report(report, kept, ledger, redactions, started)
        report.judges = judge_coverage(database, filters)
        _publish(report, options, temps)
        if progress is not None:
            progress(ExportProgress(report.decisions, report.decisions if total is None else total, report.total_rows))
        return report
    except OSError as err:
        raise ExportError(f"Writing the export failed: {err.strerror or err}.") from None
    finally:
        _discard_partials(fds, temps, folder if created_folder else None)


def _prepare_folder(folder: Path, options: ExportOptions) -> bool:
    """Check (or create) the folder the export goes into; returns whether it was created here."""
    if folder.exists():
        if not folder.is_dir():
            raise ExportError(f"{folder} is a file, not a folder.")
        return False
    if Path(options.out).suffix == ".jsonl":
        raise ExportError(f"The folder {folder} does not exist.")
    try:
        folder.mkdir(parents=True)
    except OSError as err:
        raise ExportError(f"Cannot create the folder {folder}: {err.strerror or err}.") from None
    return True


def _open_partials(files: dict[str, Path], temps: dict[str, Path], fds: dict[str, int]) -> None:
    """Open a ``.<name>.<pid>.partial`` beside each output file, recorded in ``temps`` and ``fds`` as it opens (so the
    caller removes what was opened if a later one fails)."""
    for name, path in files.items():
        temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        temps[name] = temp
        try:
            fds[name] = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as err:
            raise ExportError(f"Cannot write {temp.parent}: {err.strerror or err}.") from None


def _add_plan(report: ExportReport, redactions: dict[str, int], plan: RowPlan) -> None:
    """Count one planned batch part into the report."""
    report.sessions += plan.sessions
    report.decisions += plan.decisions
    report.multi_reviewed += plan.multi_reviewed
    report.agreed += plan.agreed
    for counts, more in ((report.skipped, plan.skipped), (redactions, plan.redactions)):
        for name, count in more.items():
            counts[name] = counts.get(name, 0) + count


def _render_in_workers(
    report: ExportReport,
    database: Any,
    spec: BatchSpec,
    temps: dict[str, Path],
    batches: Any,
    ledger: Ledger,
    planned: Callable[[RowPlan], None],
    kept: KeptCounts,
    cancelled: Callable[[], bool],
) -> None:
    """Render every batch in ``report.workers`` worker processes, each appending to the partial files."""
    try:
        pool = export_workers.ExportWorkers(
            report.workers, database.url.render_as_string(hide_password=False), spec, temps
        )
        try:
            pool.run(batches, ledger, planned, kept.merge, cancelled)
            if not cancelled():
                report.worker_peaks_mb = pool.close()
        finally:
            pool.stop()
    except export_workers.WorkerFailed as err:
        raise ExportError(str(err)) from None


def _render_here(
    renderer: BatchRenderer,
    batches: Any,
    ledger: Ledger,
    planned: Callable[[RowPlan], None],
    kept: KeptCounts,
    fds: dict[str, int],
    cancelled: Callable[[], bool],
    collect_here: bool,
) -> None:
    """Render every batch in this process, writing to the partial files, until done or cancelled."""
    for number, ids in enumerate(batches):
        for part in renderer.render(number, ids):
            if cancelled():
                break
            placement = ledger.place(part.plan)
            planned(part.plan)
            kept.merge(part.write(placement, fds, renderer.written))
        if cancelled():
            break
        if collect_here and number % _COLLECT_EVERY == _COLLECT_EVERY - 1:
            gc.collect(1)


def _complete_report(
    report: ExportReport, kept: KeptCounts, ledger: Ledger, redactions: dict[str, int], started: float
) -> None:
    """Fill in what is known once every row is written."""
    report.rows = {name: kept.rows.get(name, 0) for name in report.files}
    report.by_source, report.by_label, report.reviewers, report.models = (
        kept.by_source,
        kept.by_label,
        kept.reviewers,
        kept.models,
    )
    report.first_decision, report.last_decision = kept.first, kept.last
    report.duplicates_dropped = ledger.duplicates
    report.redactions = redactions
    report.seconds = time.perf_counter() - started


def _publish(report: ExportReport, options: ExportOptions, temps: dict[str, Path]) -> None:
    """Write the card, then rename every partial file into place; ``temps`` is emptied once all are in place."""
    card_path = report.card
    card_temp = card_path.with_name(f".{card_path.name}.{os.getpid()}.partial")
    temps["card"] = card_temp
    with open(card_temp, "w", encoding="utf-8") as card:
        card.write(dataset_card(report, options))
        card.flush()
        os.fsync(card.fileno())
    # Once more at the end: a file that appeared while rows were rendered is not the export's to replace.
    _refuse_existing(options)
    for name, path in report.files.items():
        os.replace(temps[name], path)
    os.replace(card_temp, card_path)
    _fsync_folder(card_path.parent)
    temps.clear()


def _discard_partials(fds: dict[str, int], temps: dict[str, Path], created_folder: Path | None) -> None:
    """Close the partial files and delete what is left of them (nothing after a publish), and the folder the export
    created if it failed."""
    for fd in fds.values():
        os.close(fd)
    for temp in temps.values():
        temp.unlink(missing_ok=True)
    if temps and created_folder is not None:
        try:
            created_folder.rmdir()
        except OSError:
            pass


def _fsync_folder(folder: Path) -> None:
    """Make the renames durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_stale_partials(paths: list[Path]) -> None:
    """Delete ``.<name>.<pid>.partial`` files an earlier export left when it was killed (its process is gone): the
    output files themselves are only ever renamed into place whole, so these are all a crash leaves behind."""
    for path in paths:
        for partial in path.parent.glob(f".{glob.escape(path.name)}.*.partial"):
            pid_text = partial.name[len(path.name) + 2 : -len(".partial")]
            if not pid_text.isdigit() or int(pid_text) == os.getpid():
                continue
            try:
                os.kill(int(pid_text), 0)
            except ProcessLookupError:
                partial.unlink(missing_ok=True)
            except OSError:
                pass


# -- the card ----------------------------------------------------------------------------------------------------------

_EDIT_NOTE = (
    "A reviewer's edit of a file change is written as the same tool call the model made, with input that yields "
    "exactly the applied bytes: a `str_replace` with the model's own `old_str` and the reviewer's `new_str` when the "
    "edit stays inside the replaced region, otherwise a `create` of the path with the whole applied file as "
    "`file_text`. An edited command is `run_command` with the reviewer's command (and the original `cwd`)."
)


def _table(counts: dict[str, int], header: tuple[str, str]) -> list[str]:
    lines = [f"| {header[0]} | {header[1]} |", "| --- | ---: |"]
    for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"| {name or '(none)'} | {count} |")
    if not counts:
        lines.append("| (none) | 0 |")
    return lines


def _judges_lines(judges: dict[str, Any]) -> list[str]:
    """The card's coverage of the machine judges (issue 13) and how the critic agrees with the people."""
    decisions = judges.get("decisions") or 0
    if not decisions:
        return []
    from app.domain.agreement import cohens_kappa

    pairs = judges.get("critic_pairs") or []
    lines = [
        "",
        "## Machine judges",
        "",
        f"Verifier results (reward, counts): {judges.get('verified', 0)} of {decisions} decisions "
        f"({judges.get('verified', 0) / decisions:.1%}).",
        f"Critic verdicts (verdict, score, rationale): {len(pairs)} of {decisions} decisions "
        f"({len(pairs) / decisions:.1%}).",
    ]
    if pairs:
        agreed = sum(1 for human, critic in pairs if human == critic) / len(pairs)
        kappa = cohens_kappa(pairs)
        kappa_text = "n/a" if kappa is None else f"{kappa:.2f}"
        lines.append(f"Human-critic agreement: {agreed:.1%}, Cohen's kappa {kappa_text} over {len(pairs)} decisions.")
    return lines


def _margin_note(options: ExportOptions) -> str:
    if options.margin == "verifier":
        return (
            "- trl-reward `margin` (--margin verifier) = the verifier's reward of the chosen proposal minus that of "
            "the rejected one, floored at 0 (tests passing on the chosen side and failing on the rejected side make a "
            "wide margin); 0 where either side has no verifier result (edits, hunks and compared alternatives are "
            "never run by the verifier, so only revision pairs can carry one)."
        )
    return "- trl-reward `margin` = (strength - 1) / 4 from the reviewer's 1-5 rating; 0 without one."


def dataset_card(report: ExportReport, options: ExportOptions) -> str:
    """The dataset card (README.md of an export folder, <name>.card.md beside a .jsonl file): front matter naming the
    files, then what is in them and how they were made."""
    splits = "\n".join(f"      - split: {name}\n        path: {path.name}" for name, path in report.files.items())
    lines = [
        "---",
        "configs:",
        "  - config_name: default",
        "    data_files:",
        splits,
        "tags:",
        "  - signoff",
        "  - human-feedback",
        f"  - {options.format}",
        "---",
        "",
        f"# Signoff preference export ({options.format})",
        "",
        FORMAT_DESCRIPTIONS[options.format],
        "",
        "Every prompt is the exact conversation the model saw before the proposal: the session's system prompt, "
        "the messages before the assistant turn that made it (earlier tool calls and their results included), and "
        "the tool schemas it was given. The completion is that assistant turn's text before the tool call, "
        "then the call.",
        "",
        "## Made by",
        "",
        "```sh",
        report.command,
        "```",
        "",
        f"Written in {report.seconds:.2f} s from {wording.count(report.decisions, 'decision')} in "
        f"{wording.count(report.sessions, 'session')}"
        + (f" by {wording.count(report.workers, 'worker process', 'worker processes')}." if report.workers else "."),
        "",
        "## Files",
        "",
    ]
    for name, path in report.files.items():
        lines.append(f"- `{path.name}` ({name}): {report.rows.get(name, 0)} rows")
    if options.split is not None:
        lines += [
            "",
            f"Split by session with seed {options.seed}: about {options.split:.0%} of sessions in test; "
            "no session has rows in both files.",
        ]
    label_total = sum(report.by_label.values())
    lines += ["", "## Rows by source", ""] + _table(report.by_source, ("source", "rows"))
    lines += ["", "## Rows by label", ""] + _table(report.by_label, ("label", "rows"))
    desirable, undesirable = report.by_label.get("desirable", 0), report.by_label.get("undesirable", 0)
    if desirable or undesirable:
        lines += [
            "",
            f"Balance: {desirable / (desirable + undesirable):.1%} desirable, "
            f"{undesirable / (desirable + undesirable):.1%} undesirable.",
        ]
    elif label_total:
        lines += ["", f"Balance: every row is a pair ({label_total} pairs)."]
    lines += ["", "## Reviewers", ""] + _table(report.reviewers, ("reviewer", "rows"))
    if report.reviewers.get(CRITIC_REVIEWER):
        lines += [
            "",
            f"{report.reviewers[CRITIC_REVIEWER]} rows were approved by the critic model on its own (reviewer "
            f"`{CRITIC_REVIEWER}`, where the workspace's owner allowed it), not by a person: machine labels, which "
            "`--reviewer NAME` or the `reviewer` column leaves out.",
        ]
    if report.multi_reviewed:
        lines += [
            "",
            f"Agreement between reviewers: {report.agreed} of {report.multi_reviewed} proposals judged by "
            f"more than one reviewer got the same verdict from all ({report.agreed / report.multi_reviewed:.1%}).",
        ]
    else:
        lines += ["", "Agreement between reviewers: not known (no proposal in the export was judged twice)."]
    lines += _judges_lines(report.judges)
    lines += ["", "## Models", ""] + _table(report.models, ("model", "rows"))
    first = report.first_decision.isoformat() if report.first_decision else "-"
    last = report.last_decision.isoformat() if report.last_decision else "-"
    lines += ["", "## Date range", "", f"Decisions from {first} to {last}."]
    lines += ["", "## Redaction", ""]
    if options.redact:
        lines.append(f"{report.redacted} secrets replaced with `[REDACTED:<kind>]`.")
        lines += [""] + _table(report.redactions, ("kind", "replaced"))
    else:
        lines.append("Off (--no-redact): secrets in prompts and completions were kept.")
    lines += [
        "",
        "## Deduplication",
        "",
        f"{report.duplicates_dropped} rows identical to an earlier row (same prompt, "
        "completions and label) were dropped."
        if options.dedupe
        else "Off.",
    ]
    if report.skipped:
        lines += ["", "## Decisions that made no pair or no row", ""] + _table(report.skipped, ("why", "decisions"))
    lines += [
        "",
        "## How rows are made",
        "",
        "- approve: a desirable completion. reject: an undesirable one; the reviewer's reason is in `reason`.",
        "- edit: a pair, chosen = the edited tool call, rejected = the original (and both as labelled completions).",
        "  Edits that change only whitespace make no pair.",
        "- revision: a rejection followed by an approved proposal for the same file (or the next command) in the "
        "same session: a pair on the original prompt; both sides are the tool calls alone, since the revision's "
        "words answer a rejection the original prompt does not contain.",
        "- hunks: per-hunk verdicts whose applied result differs from the proposal: chosen = what was applied, "
        "rejected = the full proposal.",
        "- compare: the reviewer asked for alternatives to a proposal (the same prompt sampled again) and picked one: "
        "a pair of the picked answer over each other one, same prompt (`id` ends `-a<picked>-a<other>`, position 0 "
        "being the original); each answer not picked is also an undesirable completion, and rejecting all makes only "
        "those. An answer that proposed no change is its text (and a view call, if it made one). Each alternative's "
        "sampling (temperature, ...) is in the raw export's `decision.compare`.",
        f"- {_EDIT_NOTE}",
        _margin_note(options),
        "- The text editor tool has no schema in the request (it is an Anthropic-defined tool); `tools` gives its "
        "documented input shape.",
        "- Every row's `id` names its decision (`signoff-d<decision id>-<source>...`); metadata columns give session, "
        "step index, model, sampling, sha256 of system prompt and tools, reviewer, time on screen, reason, strength "
        "and per-hunk verdicts.",
        "",
    ]
    return "\n".join(lines)


# -- dates -------------------------------------------------------------------------------------------------------------


def parse_when(text: str | None, *, end_of_day: bool = False) -> dt.datetime | None:
    """An ISO date or date-time; a bare date means the whole day; no offset means UTC."""
    if not text:
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min)
        else:
            moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ExportError(f"{text!r} is not a date; write it as 2026-05-01 or 2026-05-01T14:30.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
