"""The store's sessions aggregate: agent sessions, their runners (claim, heartbeat, take-over), token usage and the
transcript each one keeps. No Qt here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from app.domain.lifecycle import STALE_RUNNER_AFTER
from app.domain.records import MessageRecord, SessionRecord
from app.store.base import StoreBase, changed_rows
from app.store.errors import UnknownItemError
from app.store.mappers import session_record
from app.store.models import AgentSession, Message, Workspace, utcnow
from app.store.workspaces import workspace_row

# A runner that has not said it is alive for this long is presumed gone; another process may resume its session.
# The plan and delegation fields a session may be created with (migration 0010).
TREE_FIELDS = frozenset({"mode", "parent_id", "role", "depth", "parent_tool_use_id", "plan_step", "delegation_limits"})


class Sessions(StoreBase):
    """Agent sessions, their runners and usage, and their messages (``store.sessions``)."""

    def create(
        self,
        *,
        workspace_root: str,
        task: str,
        endpoint: str,
        model: str,
        system_prompt: str,
        tools: list[dict[str, Any]],
        sampling: dict[str, Any],
        max_turns: int,
        **tree: Any,
    ) -> SessionRecord:
        """A new session; ``tree`` may set the plan and delegation fields (mode, parent_id, role, depth,
        parent_tool_use_id, plan_step, delegation_limits)."""
        unknown = set(tree) - TREE_FIELDS
        if unknown:
            raise ValueError(f"cannot create sessions with fields {sorted(unknown)}")
        with self._orm() as orm, orm.begin():
            workspace = workspace_row(orm, workspace_root)
            row = AgentSession(
                **tree,
                workspace_id=workspace.id,
                task=task,
                endpoint=endpoint,
                model=model,
                system_prompt=system_prompt,
                tools=tools,
                sampling=sampling,
                max_turns=max_turns,
                status="running",
                turns=0,
                input_tokens=0,
                output_tokens=0,
                cache_creation_input_tokens=0,
                cache_read_input_tokens=0,
            )
            orm.add(row)
            orm.flush()
            return session_record(row, workspace_root)

    def get(self, session_id: int) -> SessionRecord:
        with self._orm() as orm:
            row = orm.get(AgentSession, session_id)
            if row is None:
                raise UnknownItemError(f"There is no session {session_id}.")
            return session_record(row, row.workspace.root_path)

    def recent(self, limit: int = 200) -> list[SessionRecord]:
        with self._orm() as orm:
            rows = orm.execute(
                select(AgentSession, Workspace.root_path).join(Workspace).order_by(AgentSession.id.desc()).limit(limit)
            ).all()
            return [session_record(row, root) for row, root in rows]

    # -- trees of agents (plans and delegation) ----------------------------------------------------------------------

    def children(self, session_id: int) -> list[SessionRecord]:
        with self._orm() as orm:
            rows = orm.execute(
                select(AgentSession, Workspace.root_path)
                .join(Workspace)
                .where(AgentSession.parent_id == session_id)
                .order_by(AgentSession.id)
            ).all()
            return [session_record(row, root) for row, root in rows]

    def child_for_tool_use(self, parent_id: int, tool_use_id: str) -> SessionRecord | None:
        """The sub-agent a delegate call started, if it started one."""
        with self._orm() as orm:
            found = orm.execute(
                select(AgentSession, Workspace.root_path)
                .join(Workspace)
                .where(AgentSession.parent_id == parent_id, AgentSession.parent_tool_use_id == tool_use_id)
            ).first()
            return None if found is None else session_record(found[0], found[1])

    def root_of(self, session_id: int) -> SessionRecord:
        record = self.get(session_id)
        seen = {record.id}
        while record.parent_id is not None and record.parent_id not in seen:
            record = self.get(record.parent_id)
            seen.add(record.id)
        return record

    def tree(self, root_id: int) -> list[SessionRecord]:
        """The session and every sub-agent under it, parents before children (depth first, in start order)."""
        ordered: list[SessionRecord] = []
        stack = [self.get(root_id)]
        seen: set[int] = set()
        while stack:
            record = stack.pop()
            if record.id in seen:
                continue
            seen.add(record.id)
            ordered.append(record)
            stack.extend(reversed(self.children(record.id)))
        return ordered

    def update(self, session_id: int, **values: Any) -> None:
        allowed = {"status", "stop_reason", "error", "turns", "ended_at", "model", "mode", "plan_step"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"cannot update session fields {sorted(unknown)}")
        with self._orm() as orm, orm.begin():
            orm.execute(update(AgentSession).where(AgentSession.id == session_id).values(updated_at=utcnow(), **values))

    def add_usage(self, session_id: int, usage: dict[str, Any]) -> None:
        with self._orm() as orm, orm.begin():
            orm.execute(
                update(AgentSession)
                .where(AgentSession.id == session_id)
                .values(
                    input_tokens=AgentSession.input_tokens + int(usage.get("input_tokens") or 0),
                    output_tokens=AgentSession.output_tokens + int(usage.get("output_tokens") or 0),
                    cache_creation_input_tokens=AgentSession.cache_creation_input_tokens
                    + int(usage.get("cache_creation_input_tokens") or 0),
                    cache_read_input_tokens=AgentSession.cache_read_input_tokens
                    + int(usage.get("cache_read_input_tokens") or 0),
                    updated_at=utcnow(),
                )
            )

    def claim(self, session_id: int, runner_id: str, *, force: bool = False) -> bool:
        """Become the runner of a session if nobody live drives it; True when this runner now owns it."""
        now = utcnow()
        stale = now - STALE_RUNNER_AFTER
        condition = (
            (AgentSession.runner_id.is_(None))
            | (AgentSession.runner_id == runner_id)
            | (AgentSession.heartbeat_at < stale)
        )
        with self._orm() as orm, orm.begin():
            statement = update(AgentSession).where(AgentSession.id == session_id)
            if not force:
                statement = statement.where(condition)
            result = orm.execute(statement.values(runner_id=runner_id, heartbeat_at=now))
            return changed_rows(result) == 1

    def heartbeat(self, session_id: int, runner_id: str) -> None:
        with self._orm() as orm, orm.begin():
            orm.execute(
                update(AgentSession)
                .where(AgentSession.id == session_id, AgentSession.runner_id == runner_id)
                .values(heartbeat_at=utcnow())
            )

    def release(self, session_id: int, runner_id: str) -> None:
        with self._orm() as orm, orm.begin():
            orm.execute(
                update(AgentSession)
                .where(AgentSession.id == session_id, AgentSession.runner_id == runner_id)
                .values(runner_id=None, heartbeat_at=None)
            )

    def has_live_runner(self, session_id: int) -> bool:
        record = self.get(session_id)
        if record.runner_id is None or record.heartbeat_at is None:
            return False
        return record.heartbeat_at >= utcnow() - STALE_RUNNER_AFTER

    def live_runner(self, session_id: int) -> str | None:
        """The id of the process running the session now, or None when nobody does (or its heartbeat went stale)."""
        return self.get(session_id).runner_id if self.has_live_runner(session_id) else None

    def take_over(self, session_id: int, runner_id: str, dead_runner_id: str) -> bool:
        """Become the runner of a session whose recorded runner is known to be dead (its process is gone from this
        host), without waiting for its heartbeat to go stale. Compare-and-swap on the dead runner's id, so two
        processes taking over at once cannot both win."""
        with self._orm() as orm, orm.begin():
            taken = orm.execute(
                update(AgentSession)
                .where(AgentSession.id == session_id, AgentSession.runner_id == dead_runner_id)
                .values(runner_id=runner_id, heartbeat_at=utcnow())
            )
            return changed_rows(taken) == 1

    # -- transcript ------------------------------------------------------------------------------------------------

    def append_message(
        self,
        session_id: int,
        role: str,
        content: list[dict[str, Any]],
        *,
        api_message_id: str | None = None,
        stop_reason: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> int:
        with self._orm() as orm, orm.begin():
            last = orm.scalar(select(func.max(Message.seq)).where(Message.session_id == session_id))
            seq = 0 if last is None else last + 1
            orm.add(
                Message(
                    session_id=session_id,
                    seq=seq,
                    role=role,
                    content=content,
                    api_message_id=api_message_id,
                    stop_reason=stop_reason,
                    usage=usage,
                )
            )
            return seq

    def messages(self, session_id: int) -> list[MessageRecord]:
        with self._orm() as orm:
            rows = orm.scalars(select(Message).where(Message.session_id == session_id).order_by(Message.seq))
            return [MessageRecord(r.seq, r.role, r.content, r.stop_reason, r.usage) for r in rows]
