"""A command's held changes as proposals of kind ``effects`` (one per file, a diff like any edit), applying one exactly
as decided, and the lines that tell the agent what landed. The capture itself is effects.py's; no Qt here.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from app.domain.diffing import compute_diff
from app.domain.hunks import PartialResult
from app.domain.records import ProposalRecord
from app.domain.tools import EFFECTS_KIND
from app.services import effects as fx
from app.services.apply import ApplyConflict
from app.services.command_tool import CommandOutcome
from app.services.workspace import sha256_hex

# More held changes than this from one command are not put to a person one by one: they are not applied.
MAX_REVIEWED = 200
_EFFECT_FIELDS = ("path", "change", "kind", "mode", "old_mode", "sha256", "size", "link")


def effect_tool_use_id(tool_use_id: str, index: int) -> str:
    """The stored key of a command's ``index``-th effect proposal (unique per session, found again on resume)."""
    return f"{tool_use_id}#effect{index}"


@dataclass(frozen=True)
class Drafted:
    """What the runner stores for a command's held changes: the proposals' fields, and the changes no one can review
    (with why; they are not applied)."""

    proposals: list[dict[str, Any]]
    unreviewable: list[tuple[str, str]]


def draft_effect_proposals(root: Path, command: ProposalRecord, ran: str, outcome: CommandOutcome) -> Drafted:
    """One proposal per held change a person reviews, in path order: a file's captured bytes against what the
    workspace holds now, or for a link, a folder or a mode, the before and after in words."""
    wanted = set(outcome.for_review)
    held = [effect for effect, _why in outcome.held if effect.path in wanted]
    paths = [effect.path for effect in held]
    drafted: list[dict[str, Any]] = []
    unreviewable: list[tuple[str, str]] = []
    for effect in held:
        if effect.kind == "dir" and effect.change == fx.CREATED and any(p.startswith(effect.path + "/") for p in paths):
            continue  # made with the files under it
        if len(drafted) >= MAX_REVIEWED:
            unreviewable.append((effect.path, f"more than {MAX_REVIEWED} changes to review from one command"))
            continue
        fields = _fields(root, effect, outcome.held_bytes.get(effect.path))
        if isinstance(fields, str):
            unreviewable.append((effect.path, fields))
            continue
        fields["tool_input"] = {
            "command_proposal": command.id,
            "command": ran,
            "effect": {name: getattr(effect, name) for name in _EFFECT_FIELDS if getattr(effect, name) is not None},
            "meta": fields.pop("meta"),
        }
        fields.update(
            session_id=command.session_id,
            message_seq=command.message_seq,
            tool_use_id=effect_tool_use_id(command.tool_use_id, len(drafted)),
            tool_name=EFFECTS_KIND,
            kind=EFFECTS_KIND,
            path=effect.path,
        )
        drafted.append(fields)
    return Drafted(drafted, unreviewable)


def _fields(root: Path, effect: fx.Effect, captured: bytes | None) -> dict[str, Any] | str:
    """The content fields of one effect proposal, or why it cannot be reviewed."""
    is_file_content = effect.kind == "file" and effect.change in (fx.CREATED, fx.MODIFIED, fx.DELETED)
    old = _current_file(root, effect.path) if is_file_content else None
    if is_file_content and effect.change != fx.DELETED:
        if captured is None:
            return f"too large to show ({effect.size or 0:,} bytes) or no longer readable"
        new: bytes | None = captured
        meta = False
    elif is_file_content and old is not None:
        new, meta = None, False
    else:
        old = (fx.state_text(root, effect.path) + "\n").encode("utf-8")
        new = (_state_after(effect) + "\n").encode("utf-8")
        meta = True
    diff = compute_diff(old, new, effect.path)
    shown = diff.binary_summary if diff.is_binary else diff.text
    return {
        "base_hash": sha256_hex(old),
        "old_content": old,
        "new_content": new,
        "lines_added": diff.lines_added,
        "lines_removed": diff.lines_removed,
        "shown_text": shown,
        "shown_hash": hashlib.sha256(shown.encode("utf-8")).hexdigest(),
        "meta": meta,
    }


def _current_file(root: Path, rel: str) -> bytes | None:
    """The workspace's bytes of ``rel`` when it is a plain file reached without a symlink; else None."""
    try:
        path = fx.safe_target(root, rel)
        st = os.lstat(path)
    except (fx.ApplyRefusedError, OSError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def _state_after(effect: fx.Effect) -> str:
    if effect.change == fx.DELETED:
        return "missing"
    if effect.kind == "symlink":
        return f"symlink to {effect.link}"
    mode = oct(stat.S_IMODE(effect.mode or 0))[2:]
    if effect.kind == "dir":
        return f"folder, mode {mode}"
    return f"{effect.kind}, mode {mode}" + (f", {effect.size:,} bytes" if effect.size is not None else "")


def effect_of(proposal: ProposalRecord) -> fx.Effect:
    stored = dict((proposal.tool_input or {}).get("effect") or {})
    return fx.Effect(**{name: stored.get(name) for name in _EFFECT_FIELDS if name in stored})


# -- applying one, as decided ------------------------------------------------------------------------------------------


def apply_decided(root: Path, proposal: ProposalRecord, content: bytes | None) -> str | None:
    """Apply an approved effect: ``content`` (the captured bytes, or what the reviewer's edits and hunks left) for a
    file, the captured link, folder or mode otherwise; only over exactly what the proposal was made against.
    Returns the sha256 of what the file now holds. Raises ApplyConflict, fx.ApplyRefusedError or OSError."""
    root = Path(root).resolve()
    effect = effect_of(proposal)
    if (proposal.tool_input or {}).get("meta"):
        now = (fx.state_text(root, effect.path) + "\n").encode("utf-8")
        if now == proposal.new_content:
            return None  # carried out before a restart
        if sha256_hex(now) != proposal.base_hash:
            raise ApplyConflict(f"{effect.path} changed in the workspace since the command ran.")
        if effect.change != fx.DELETED:
            _make_folders(root, effect.path)
        fx.apply_one(root, root / ".signoff-no-source", effect)
        return None
    current = _current_file(root, effect.path)
    if current is None and _reachable(root, effect.path) and os.path.lexists(root / effect.path):
        raise ApplyConflict(f"{effect.path} is no longer a plain file in the workspace.")
    target_hash = sha256_hex(content)
    if sha256_hex(current) == target_hash and target_hash != proposal.base_hash:
        return target_hash  # carried out before a restart
    if sha256_hex(current) != proposal.base_hash:
        raise ApplyConflict(f"{effect.path} changed in the workspace since the command ran.")
    if content is None:
        if current is not None:
            fx.safe_target(root, effect.path).unlink()
        return None
    _make_folders(root, effect.path)
    target = fx.safe_target(root, effect.path)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".signoff-effect", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, stat.S_IMODE(effect.mode or 0o644))
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target_hash


def _reachable(root: Path, rel: str) -> bool:
    try:
        fx.safe_target(root, rel)
    except fx.ApplyRefusedError:
        return False
    return True


def _make_folders(root: Path, rel: str) -> None:
    """Create the missing folders on the way to ``rel``; never through a symlink or a file."""
    current = root
    for part in PurePosixPath(rel).parts[:-1]:
        if part in ("", ".", ".."):
            raise fx.ApplyRefusedError(f"{rel} is not a plain workspace path")
        current = current / part
        if not os.path.lexists(current):
            os.mkdir(current)
        if not stat.S_ISDIR(os.lstat(current).st_mode):
            raise fx.ApplyRefusedError(f"{current.relative_to(root)} is not a folder in the workspace")


# -- what the agent is told --------------------------------------------------------------------------------------------


def applied_line(proposal: ProposalRecord, content: bytes | None, by_hunk: PartialResult | None) -> str:
    effect = effect_of(proposal)
    what = f"{effect.path} {effect.change}"
    if by_hunk is not None and not by_hunk.all_approved:
        kept = ", ".join(str(o.number) for o in by_hunk.applied) or "none"
        return (
            f"{what}: applied in part by the reviewer (hunks {kept} of {len(by_hunk.outcomes)}); file now as decided."
        )
    if content is not None and content != proposal.new_content:
        return f"{what}: applied with the reviewer's edits."
    return f"{what}: applied exactly as the command left it."


def not_applied_line(proposal: ProposalRecord, why: str) -> str:
    effect = effect_of(proposal)
    return f"{effect.path} {effect.change}: NOT applied ({why}); the workspace does not have it."


def review_summary(lines: list[str], unreviewable: list[tuple[str, str]]) -> str:
    """The tail of a command's tool result: what a person decided about each held change."""
    if not lines and not unreviewable:
        return ""
    out = [f"Held changes reviewed by a person ({len(lines)}):"] if lines else []
    out += [f"  {line}" for line in lines]
    if unreviewable:
        out.append(f"Held changes that could not be reviewed, NOT applied ({len(unreviewable)}):")
        out += [f"  {path}: {why}" for path, why in unreviewable[:40]]
        if len(unreviewable) > 40:
            out.append(f"  ... and {len(unreviewable) - 40} more")
    return "\n" + "\n".join(out)
