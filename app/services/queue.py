"""The review queue without widgets: its filter and sort, fetching a page of rows with their flags, state texts and
progress figures. Runs its database work on the caller's thread (the window calls it on the database thread); no Qt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.domain import policy as core_policy
from app.domain.deceptive_text import find_deceptive_characters
from app.domain.lifecycle import ProposalStatus
from app.domain.records import QueueItemRecord, QueueStatsRecord, QueueTextRecord
from app.services.policy_file import load_policy

if TYPE_CHECKING:
    from app.store.repository import Repository

PAGE_SIZE = 200
# With a flag filter, rows are matched in Python: one fetch scans at most this many before handing back what it has.
FLAG_SCAN_LIMIT = 5000

HIDDEN = "hidden"
CONFLICT = "conflict"
OUTSIDE_POLICY = "outside-policy"
FLAG_NAMES = (HIDDEN, CONFLICT, OUTSIDE_POLICY)
FLAG_LABELS = {HIDDEN: "hidden chars", CONFLICT: "conflict", OUTSIDE_POLICY: "outside policy"}

# "risk" is computed here, not in SQL (app.services.judges): riskiest first, over at most RISK_SORT_LIMIT rows.
RISK = "risk"
SORT_COLUMNS = ("age", "workspace", "session", "kind", "target", "lines", RISK)
RISK_SORT_LIMIT = 5000
KINDS = ("edit", "create", "command", "effects", "changeset", "plan")


@dataclass(frozen=True)
class QueueFilter:
    workspace: str | None = None
    kind: str | None = None
    # fnmatch-style: * any run of characters, ? one character.
    path_glob: str | None = None
    session_id: int | None = None
    flag: str | None = None
    text: str = ""

    @property
    def is_empty(self) -> bool:
        return self == QueueFilter()

    def query_args(self) -> dict[str, Any]:
        """The repository's keyword arguments for everything filtered in SQL (the flag is filtered here)."""
        args: dict[str, Any] = {}
        if self.workspace:
            args["workspace_roots"] = [self.workspace]
        if self.kind:
            args["kinds"] = [self.kind]
        if self.session_id is not None:
            args["session_ids"] = [self.session_id]
        if self.path_glob:
            args["path_like"] = glob_to_like(self.path_glob)
        if self.text.strip():
            args["text"] = self.text.strip()
        return args


@dataclass(frozen=True)
class QueueSort:
    column: str = "age"
    descending: bool = False

    def __post_init__(self) -> None:
        if self.column not in SORT_COLUMNS:
            raise ValueError(f"The queue cannot be sorted by {self.column!r}.")


@dataclass(frozen=True)
class QueueSpec:
    filter: QueueFilter = QueueFilter()
    sort: QueueSort = QueueSort()


@dataclass
class QueuePage:
    items: list[QueueItemRecord]
    flags: dict[int, frozenset[str]]
    # Keyset position to continue from, or None when the query has nothing after this page.
    next_after: tuple[Any, int] | None


def glob_to_like(glob: str) -> str:
    """An fnmatch glob as a LIKE pattern with backslash escapes ('src/*.py' -> 'src/%.py')."""
    out = []
    for char in glob.strip():
        if char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        elif char in "%_\\":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def added_text(record: QueueTextRecord) -> str:
    """The text a proposal adds: the '+' lines of its diff, or the whole command."""
    if record.kind == "command":
        return record.shown_text
    lines = []
    for line in record.shown_text.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            lines.append(line[1:])
    return "\n".join(lines)


def _base_changed(record: QueueTextRecord) -> bool:
    """Would applying now fail its base check? Only knowable where the workspace is on this machine."""
    if record.kind == "command" or record.path is None:
        return False
    root = Path(record.workspace_root)
    if not root.is_dir():
        return False
    target = root / record.path
    try:
        current = target.read_bytes()
    except FileNotFoundError:
        return record.base_hash is not None
    except OSError:
        return False
    return hashlib.sha256(current).hexdigest() != record.base_hash


def flags_for(record: QueueTextRecord) -> frozenset[str]:
    flags = set()
    if find_deceptive_characters(added_text(record)):
        flags.add(HIDDEN)
    if _base_changed(record):
        flags.add(CONFLICT)
    return frozenset(flags)


def outside_policy(rules: core_policy.Policy, record: Any, root: str) -> bool:
    """Whether a proposal lies outside its workspace's policy: the policy has rules, and its verdict on the proposal
    is not 'allow' for another reason than a rule saying 'ask'. That is: a deny rule matches it (a rule added since it
    was proposed, or a part of a command line), or it falls outside every rule — a path no rule covers, a part of a
    command line no rule allows, a command Signoff cannot read for sure, or one reaching outside the workspace.

    A workspace without rules has no policy to be outside of, and a rule that asks for a person is the policy
    working as written; neither is flagged, so the flag picks out what the rules did not foresee.
    """
    if not rules.rules:
        return False
    verdict = rules.check(record, root)
    if verdict.action == "allow":
        return False
    if verdict.action == "ask" and verdict.rules and all(rule.action == "ask" for rule in verdict.rules):
        return False
    return True


@dataclass(frozen=True)
class _PolicyTarget:
    """What the policy check of one proposal reads (``Policy.check`` takes anything with these fields)."""

    kind: str
    path: str | None
    command: str | None
    cwd: str | None
    root: str


class PolicyCache:
    """Each workspace's parsed policy, read again only when its file's modification time (or size) changes."""

    def __init__(self) -> None:
        self._policies: dict[str, tuple[tuple[int, int] | None, core_policy.Policy | None]] = {}

    @staticmethod
    def _stamp(root: str) -> tuple[int, int] | None:
        try:
            info = core_policy.policy_path(root).stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def get(self, root: str) -> tuple[tuple[int, int] | None, core_policy.Policy | None]:
        """(the file's stamp, its policy); the policy is None where the workspace is not on this machine or its
        file cannot be read (a broken file is reported where policies are edited, not as a flag on every row)."""
        stamp = self._stamp(root)
        cached = self._policies.get(root)
        if cached is not None and cached[0] == stamp:
            return cached
        if not Path(root).is_dir():
            entry: tuple[tuple[int, int] | None, core_policy.Policy | None] = (stamp, None)
        elif stamp is None:
            entry = (None, core_policy.Policy())
        else:
            try:
                entry = (stamp, load_policy(root))
            except core_policy.PolicyError:
                entry = (stamp, None)
        self._policies[root] = entry
        return entry


@dataclass
class FlagCache:
    """Flags per proposal id, computed only for the rows a page fetches. Hidden characters never change for a
    proposal, so they are computed once with the conflict check; the outside-policy flag is recomputed only when the
    workspace's policy file changed (its modification time is looked at once per workspace per page)."""

    flags: dict[int, frozenset[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _fixed: dict[int, frozenset[str]] = field(default_factory=dict)
    _targets: dict[int, _PolicyTarget] = field(default_factory=dict)
    # Per proposal: the policy file stamp its outside-policy flag was computed against.
    _policy_stamps: dict[int, tuple[int, int] | None] = field(default_factory=dict)
    policies: PolicyCache = field(default_factory=PolicyCache)

    def get(self, proposal_id: int) -> frozenset[str]:
        return self.flags.get(proposal_id, frozenset())

    def fill(self, repository: Repository, ids: list[int]) -> dict[int, frozenset[str]]:
        missing = [i for i in ids if i not in self._fixed]
        if missing:
            for pid, text in repository.queue.texts(missing).items():
                self._fixed[pid] = flags_for(text)
                command = text.shown_text if text.kind == "command" else None
                self._targets[pid] = _PolicyTarget(text.kind, text.path, command, text.cwd, text.workspace_root)
        stamps: dict[str, tuple[tuple[int, int] | None, core_policy.Policy | None]] = {}
        updated: dict[int, frozenset[str]] = {}
        for pid in ids:
            target = self._targets.get(pid)
            if target is None:
                continue
            if target.root not in stamps:
                stamps[target.root] = self.policies.get(target.root)
            stamp, rules = stamps[target.root]
            previous = self.flags.get(pid)
            if previous is not None and self._policy_stamps.get(pid, ()) == stamp:
                continue
            flags = self._fixed[pid]
            if rules is not None and outside_policy(rules, target, target.root):
                flags = flags | {OUTSIDE_POLICY}
            self._policy_stamps[pid] = stamp
            # The same object while nothing changed, so views can tell a change by identity.
            updated[pid] = previous if previous == flags else flags
        if updated:
            with self._lock:
                self.flags.update(updated)
        return {i: self.flags.get(i, frozenset()) for i in ids}


def fetch_page(
    repository: Repository,
    spec: QueueSpec,
    *,
    after: tuple[Any, int] | None = None,
    limit: int = PAGE_SIZE,
    flag_cache: FlagCache,
    reviewer: str | None = None,
) -> QueuePage:
    """A page of the queue after ``after``, with flags; never loads more than one page (or one flag scan) of rows.

    With a ``reviewer`` it also lists the second reviews and adjudications that person may do (team mode).
    """
    if spec.sort.column == RISK:
        return _risk_page(repository, spec, after=after, limit=limit, flag_cache=flag_cache, reviewer=reviewer)
    args = spec.filter.query_args()
    if reviewer:
        args["reviewer"] = reviewer
    sort = spec.sort
    wanted_flag = spec.filter.flag
    if not wanted_flag:
        items = repository.queue.page(sort=sort.column, descending=sort.descending, after=after, limit=limit, **args)
        flags = flag_cache.fill(repository, [item.id for item in items])
        next_after = (items[-1].sort_key, items[-1].id) if len(items) == limit else None
        return QueuePage(items, flags, next_after)
    kept: list[QueueItemRecord] = []
    flags: dict[int, frozenset[str]] = {}
    scanned = 0
    position = after
    while True:
        batch = repository.queue.page(
            sort=sort.column, descending=sort.descending, after=position, limit=max(limit, 500), **args
        )
        batch_flags = flag_cache.fill(repository, [item.id for item in batch])
        scanned += len(batch)
        for item in batch:
            if wanted_flag in batch_flags[item.id]:
                kept.append(item)
                flags[item.id] = batch_flags[item.id]
        if batch:
            position = (batch[-1].sort_key, batch[-1].id)
        if len(batch) < max(limit, 500):
            return QueuePage(kept, flags, None)
        if len(kept) >= limit or scanned >= FLAG_SCAN_LIMIT:
            return QueuePage(kept, flags, position)


def _risk_page(
    repository: Repository,
    spec: QueueSpec,
    *,
    after: tuple[Any, int] | None,
    limit: int,
    flag_cache: FlagCache,
    reviewer: str | None,
) -> QueuePage:
    """The queue sorted by risk, riskiest first (``descending``: safest first): the waiting rows (oldest
    RISK_SORT_LIMIT) are scored, sorted, and paged here, with minus the score as each row's sort key."""
    from app.services.judges import judged
    from app.services.settings import load_settings

    by_age = QueueSpec(spec.filter, QueueSort("age"))
    items: list[QueueItemRecord] = []
    flags: dict[int, frozenset[str]] = {}
    position = None
    while len(items) < RISK_SORT_LIMIT:
        page = fetch_page(repository, by_age, after=position, limit=1000, flag_cache=flag_cache, reviewer=reviewer)
        items += page.items
        flags.update(page.flags)
        if page.next_after is None:
            break
        position = page.next_after
    scores = judged(repository, items, flags, load_settings())
    keyed = [replace(item, sort_key=-scores[item.id].risk.score) for item in items]
    keyed.sort(key=lambda item: (item.sort_key, item.id), reverse=spec.sort.descending)
    if after is not None:
        keyed = [
            item
            for item in keyed
            if ((item.sort_key, item.id) < after if spec.sort.descending else (item.sort_key, item.id) > after)
        ]
    chosen = keyed[:limit]
    next_after = (chosen[-1].sort_key, chosen[-1].id) if len(keyed) > limit else None
    return QueuePage(chosen, {item.id: flags.get(item.id, frozenset()) for item in chosen}, next_after)


# -- what the reviewer reads -------------------------------------------------------------------------------------------

_VERDICT_WORDS = {"approve": "approved", "reject": "rejected", "edit": "approved with edit"}
_FINAL_WORDS: dict[str, str] = {
    ProposalStatus.PENDING: "waiting",
    ProposalStatus.APPLYING: "applying…",
    ProposalStatus.APPLIED: "applied",
    ProposalStatus.REJECTED: "rejected",
    ProposalStatus.CONFLICT: "conflict: not applied",
    ProposalStatus.FAILED: "failed",
    ProposalStatus.NOT_APPLIED: "not applied",
    ProposalStatus.CANCELLED: "withdrawn",
    # Compare mode: the reviewer picked a sampled alternative, which is carried out as its own proposal.
    ProposalStatus.REPLACED: "replaced by a picked alternative",
}


# Team mode's stages of a proposal still waiting, as the state column and `signoff queue` name them.
STAGE_WORDS: dict[str, str] = {
    ProposalStatus.PENDING: "waiting",
    ProposalStatus.AWAITING_SECOND_REVIEW: "second review",
    ProposalStatus.DISPUTED: "disputed · adjudicate",
}


def state_text(
    status: str,
    *,
    verdict: str | None = None,
    decided_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
    undo_window_s: float = 0.0,
    claimed_by: str | None = None,
) -> str:
    """'waiting', 'approved · applies in 3 s', 'applied', … — what became of a proposal, in a few words."""
    if status in STAGE_WORDS:
        word = STAGE_WORDS[status]
        if claimed_by:
            return f"taken by {claimed_by}" if status == ProposalStatus.PENDING else f"{word} · taken by {claimed_by}"
        return word
    if status == "deciding":
        return "saving…"
    if status == ProposalStatus.DECIDED:
        word = _VERDICT_WORDS.get(verdict or "", "decided")
        if decided_at is not None and now is not None:
            remaining = (decided_at - now).total_seconds() + undo_window_s
            if remaining > 0:
                action = "sent in" if verdict == "reject" else "applies in"
                seconds = min(math.ceil(remaining), math.ceil(undo_window_s))
                return f"{word} · {action} {max(1, seconds)} s"
        return f"{word} · final"
    if status == ProposalStatus.REJECTED or (verdict == "reject" and status in (ProposalStatus.APPLYING,)):
        return "rejected"
    return _FINAL_WORDS.get(status, status)


def is_final(status: str) -> bool:
    return status not in (ProposalStatus.PENDING, "deciding", ProposalStatus.DECIDED)


def age_text(created_at: dt.datetime, now: dt.datetime) -> str:
    seconds = max(0, int((now - created_at).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def day_start(now: dt.datetime) -> dt.datetime:
    """Midnight of the reviewer's local day, in UTC: 'decided today' follows the reviewer's clock."""
    local = now.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


def queue_stats(
    repository: Repository, now: dt.datetime, session_id: int | None = None, reviewer: str | None = None
) -> QueueStatsRecord:
    """Today's figures; "waiting" counts what ``reviewer`` may review when one is named (their queue's items)."""
    return repository.queue.stats(
        day_start=day_start(now), hour_ago=now - dt.timedelta(hours=1), session_id=session_id, reviewer=reviewer
    )


def stats_text(stats: QueueStatsRecord) -> str:
    median = "–" if stats.median_ms is None else _duration(stats.median_ms / 1000)
    return (
        f"{stats.waiting:,} waiting · {stats.decided_today:,} decided today · "
        f"{stats.decided_last_hour:,}/h · median {median} per decision"
    )


def _duration(seconds: float) -> str:
    if seconds < 0.1:
        return "<0.1 s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"
