"""The decisions' hash chain: each decision stores the hash of the one before it and of its own canonical content.

Sealed inside the transaction that records the decision, and verified by ``signoff audit verify``. Changing, removing
or reordering a stored decision breaks the chain from that row on. Must not import Qt or the services.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, select, text
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import aliased

from app.domain.audit_chain import GENESIS, canonical_content, chain_hash_of
from app.domain.lifecycle import ProposalStatus
from app.store.models import Alternative, Decision, Proposal

# pg_advisory_xact_lock key serialising chain appends across connections (ASCII "sgnchain" folded into 63 bits).
CHAIN_LOCK_KEY = int.from_bytes(b"sgnchain", "big") & 0x7FFF_FFFF_FFFF_FFFF
# Proposal states that exist only after at least one decision was recorded on them.
_DECIDED_STATES = tuple(
    status
    for status in ProposalStatus
    if status not in (ProposalStatus.PENDING, ProposalStatus.CANCELLED, ProposalStatus.REPLACED)
)


def content_hash_of(row: Decision) -> str:
    return hashlib.sha256(
        canonical_content(
            decision_id=row.id,
            proposal_id=row.proposal_id,
            shown_hash=row.shown_hash,
            verdict=row.verdict,
            reason=row.reason,
            edited_content=row.edited_content,
            reviewer=row.reviewer,
            decided_at=row.decided_at,
            channel=row.channel,
            hunk_verdicts=row.hunk_verdicts,
            strength=row.strength,
            review_stage=getattr(row, "review_stage", None),
            revokes_id=getattr(row, "revokes_id", None),
            compare=getattr(row, "compare", None),
            grants=getattr(row, "grants", None),
        )
    ).hexdigest()


UNDO_VERDICT = "undo"


def live_decisions() -> ColumnElement[bool]:
    """SQL condition on ``Decision``: a judgment that stands, i.e. neither an undo entry nor a decision taken back by
    one. Every reader of judgments (the runner, the queue, agreement, exports) uses it; only the chain sees all rows."""
    revocation = aliased(Decision)
    # Not a correlated NOT EXISTS: with every revokes_id NULL, SQLite's statistics rate its index as useless and it
    # would scan the table once per decision. The revoked ids are few; read once (from the index) they are a set.
    revoked = select(revocation.revokes_id).where(revocation.revokes_id.is_not(None))
    return and_(Decision.revokes_id.is_(None), Decision.id.not_in(revoked))


def alternative_content_sha256(content: Any) -> str | None:
    """The hash a compare decision records for an alternative's assistant message (None for a failed request)."""
    if content is None:
        return None
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compare_problem(orm: OrmSession, compare: Any) -> str | None:
    """For a decision made in compare mode: whether the stored alternatives are still what it says was shown."""
    if not compare:
        return None
    stored = {
        row.position: row
        for row in orm.scalars(select(Alternative).where(Alternative.compare_id == compare.get("compare_id")))
    }
    for entry in compare.get("alternatives") or []:
        row = stored.get(entry.get("position"))
        if row is None:
            return (
                f"alternative {entry.get('position')} of compare {compare.get('compare_id')} "
                "it was picked among is missing."
            )
        if row.shown_hash != entry.get("shown_hash") or alternative_content_sha256(row.content) != entry.get(
            "content_sha256"
        ):
            return (
                f"alternative {entry.get('position')} of compare {compare.get('compare_id')} no longer matches what "
                "the reviewer was shown: it was changed."
            )
    return None


def seal_decision(orm: OrmSession, decision: Decision) -> None:
    """Link a new, not yet flushed decision to the chain, inside the caller's transaction.

    SQLite: the transaction already holds the write lock (it updated the proposal first), so no other append can
    interleave. PostgreSQL: an advisory lock held until commit serialises appends, taken before the id is drawn so
    ids follow chain order.
    """
    if orm.get_bind().dialect.name == "postgresql":
        orm.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    if decision.shown_hash is None:
        decision.shown_hash = orm.scalar(select(Proposal.shown_hash).where(Proposal.id == decision.proposal_id))
    orm.add(decision)
    orm.flush()
    previous = orm.scalar(
        select(Decision.chain_hash).where(Decision.id < decision.id).order_by(Decision.id.desc()).limit(1)
    )
    # Reads back what the database will hand out later (e.g. SQLite drops the time zone), so verify sees the same.
    orm.refresh(decision)
    decision.prev_hash = previous or GENESIS
    decision.content_hash = content_hash_of(decision)
    decision.chain_hash = chain_hash_of(decision.prev_hash, decision.content_hash)
    orm.flush()


@dataclass(frozen=True)
class ChainReport:
    decisions: int
    # The first thing wrong, in words, or None when the chain is intact.
    problem: str | None
    # The chain hash of the last decision (write it down elsewhere to detect a rewritten tail later).
    head: str
    first_bad_id: int | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.intact:
            return f"{self.decisions} decisions, chain intact (head {self.head})."
        if self.first_bad_id is None:
            return f"Chain broken: {self.problem}"
        return f"Chain broken at decision {self.first_bad_id}: {self.problem}"


def verify_chain(database: Any, *, batch: int = 2000) -> ChainReport:
    """Walk every decision in id order; report the first one that was changed, removed, reordered or never sealed."""
    expected_prev = GENESIS
    previous_id: int | None = None
    count = 0
    last_id = 0
    with database.session() as orm:
        while True:
            rows = list(orm.scalars(select(Decision).where(Decision.id > last_id).order_by(Decision.id).limit(batch)))
            if not rows:
                break
            for row in rows:
                count += 1
                last_id = row.id
                where = f"after decision {previous_id}" if previous_id is not None else "at the start"
                if row.chain_hash is None or row.content_hash is None or row.prev_hash is None:
                    return ChainReport(
                        count - 1,
                        "it carries no chain hashes (written outside Signoff, or by a version before the audit chain).",
                        expected_prev,
                        row.id,
                    )
                if row.prev_hash != expected_prev:
                    return ChainReport(
                        count - 1,
                        f"it does not follow the decision {where}: a decision between them is missing, or an earlier "
                        "one was changed and re-sealed.",
                        expected_prev,
                        row.id,
                    )
                if content_hash_of(row) != row.content_hash:
                    return ChainReport(
                        count - 1,
                        "its stored content (verdict, reason, reviewer, time, edit, ...) "
                        "no longer matches the hash recorded with it: it was changed.",
                        expected_prev,
                        row.id,
                    )
                if chain_hash_of(row.prev_hash, row.content_hash) != row.chain_hash:
                    return ChainReport(
                        count - 1, "its chain hash does not match its own hashes.", expected_prev, row.id
                    )
                revokes = getattr(row, "revokes_id", None)
                if revokes is not None and revokes >= row.id:
                    return ChainReport(
                        count - 1,
                        f"it takes back decision {revokes}, which was not recorded before it.",
                        expected_prev,
                        row.id,
                    )
                compared = compare_problem(orm, getattr(row, "compare", None))
                if compared is not None:
                    return ChainReport(count - 1, compared, expected_prev, row.id)
                expected_prev = row.chain_hash
                previous_id = row.id
            orm.expunge_all()
        orphan = orm.scalar(
            select(Proposal.id)
            .where(Proposal.status.in_(_DECIDED_STATES), ~Proposal.decisions.any())
            .order_by(Proposal.id)
            .limit(1)
        )
    if orphan is not None:
        return ChainReport(
            count,
            f"proposal {orphan} was decided but has no decision: its decision row is missing.",
            expected_prev,
            None,
        )
    return ChainReport(count, None, expected_prev)
