"""The decisions' hash chain as pure functions: the canonical bytes a decision's content hash covers, and how each
link joins the one before. The store seals and verifies with these (app.store.audit, app.store.decide_lite)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

# The "previous hash" of the first decision.
GENESIS = "0" * 64


def chain_timestamp(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_content(
    *,
    decision_id: int,
    proposal_id: int,
    shown_hash: str | None,
    verdict: str,
    reason: str | None,
    edited_content: bytes | None,
    reviewer: str,
    decided_at: dt.datetime | None,
    channel: str | None,
    hunk_verdicts: Any,
    strength: int | None,
    review_stage: str | None = None,
    revokes_id: int | None = None,
    compare: Any = None,
    grants: Any = None,
) -> bytes:
    """The bytes a decision's content hash covers: sorted-key compact JSON, timestamps in UTC to the microsecond.

    ``revokes`` is covered only where set (undo entries), so decisions sealed before it existed keep their hashes.
    """
    document = {
        "id": decision_id,
        "proposal_id": proposal_id,
        "shown_hash": shown_hash,
        "verdict": verdict,
        "reason": reason,
        "edited_sha256": None if edited_content is None else hashlib.sha256(edited_content).hexdigest(),
        "reviewer": reviewer,
        "decided_at": chain_timestamp(decided_at),
        "channel": channel,
        "hunk_verdicts": hunk_verdicts,
        "strength": strength,
        "review_stage": review_stage,
    }
    if revokes_id is not None:
        document["revokes"] = revokes_id
    if compare is not None:
        # Compare mode: the alternatives shown (their hashes) and the pick; only where set, like ``revokes``.
        document["compare"] = compare
    if grants is not None:
        # Commands: what the decision let the sandboxed command do (.git writes, network); only where set.
        document["grants"] = grants
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash_of(prev_hash: str, content_hash: str) -> str:
    return hashlib.sha256(f"{prev_hash}:{content_hash}".encode("ascii")).hexdigest()
