"""``signoff tui``: the review queue in a terminal (Textual), over the same store and services as the window and CLI.

The app owns the queue model, the decision calls (app.tui.decisions) and polling the store for changes made by other
processes; the screens only say what the reviewer pressed. Never imports Qt.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from textual.app import App, SuspendNotSupported

from app.domain.records import DecisionRecord, ProposalRecord
from app.services.settings import Settings
from app.store.errors import StoreError
from app.store.repository import Repository
from app.tui.decisions import Decider, DecisionRefusedError
from app.tui.proposal_screen import ProposalScreen
from app.tui.queue_model import QueueModel
from app.tui.queue_screen import QueueScreen
from app.tui.runner import SessionHost

# Other processes' proposals and decisions show within a second.
POLL_S = 0.5
# Rows kept loaded below the one decided.
LOAD_AHEAD = 20
VERDICT_WORDS = {
    "approve": "Approved",
    "reject": "Rejected",
    "edit": "Approved with your edit",
    "pick": "Picked an alternative",
}


class SignoffTui(App):
    TITLE = "Signoff"
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self,
        repository: Repository,
        settings: Settings,
        *,
        reviewer: str | None = None,
        demo: bool = False,
        team: bool = False,
        host_sessions: bool = True,
        poll_s: float = POLL_S,
    ) -> None:
        super().__init__()
        self.repository = repository
        self.settings = settings
        self.demo = demo
        self.team = team
        self.poll_s = poll_s
        reviewer_name = (reviewer or "").strip() or settings.reviewer_name
        self.model = QueueModel(repository, reviewer_name)
        self.host = SessionHost(repository, settings, say=self.say) if host_sessions or demo else None
        self.decider = Decider(
            repository, reviewer_name, settings.undo_seconds, after=self.host.decided if self.host else None
        )
        self.lease = None
        self.queue_screen = QueueScreen()
        self.proposal_screen = ProposalScreen()

    # -- life cycle ----------------------------------------------------------------------------------------------------

    async def on_mount(self) -> None:
        self.model.reload()
        self.install_screen(self.proposal_screen, name="proposal")
        await self.push_screen(self.queue_screen)
        if self.team:
            from app.services.claim_lease import LeaseKeeper

            assert self.host is not None, "team mode holds claims through the session host's repository"
            self.lease = LeaseKeeper(
                self.host.repository, lambda: self.decider.reviewer, on_refused=lambda err: self.say(str(err))
            )
        self.set_interval(self.poll_s, self.poll)
        if self.demo and self.host is not None:
            self.run_worker(self._start_demo(), exclusive=False, group="demo")

    async def _start_demo(self) -> None:
        session_id = await self.host.start_demo()
        self.say(f"Offline demo: session {session_id} runs a scripted agent; its proposals appear here.")

    async def on_unmount(self) -> None:
        if self.lease is not None:
            await self.lease.close()
        if self.host is not None:
            await self.host.close()

    def poll(self) -> None:
        """Reload when anything was proposed, decided or undone anywhere (the store's signature changed)."""
        try:
            if not self.model.changed():
                return
            self.model.reload(at_least=len(self.model.items))
        except StoreError as err:
            self.say(str(err))
            return
        if self.queue_screen.is_mounted:
            self.queue_screen.refresh_rows()
            if self.screen is self.queue_screen:
                self.queue_screen.show_stats()
        if self.screen is self.proposal_screen and self.proposal_screen.proposal is not None:
            self._check_still_waiting(self.proposal_screen.proposal.id)

    def _check_still_waiting(self, proposal_id: int) -> None:
        if self.model_position(proposal_id) is None:
            self.proposal_screen.say(f"Proposal #{proposal_id} is no longer waiting (decided or withdrawn elsewhere).")

    # -- what the screens ask for --------------------------------------------------------------------------------------

    def say(self, message: str) -> None:
        screen = self.screen
        if hasattr(screen, "say"):
            screen.say(message)

    def model_position(self, proposal_id: int) -> tuple[int, int] | None:
        for index, item in enumerate(self.model.items):
            if item.id == proposal_id:
                return index + 1, len(self.model.items)
        return None

    def load_proposal(self, proposal_id: int) -> ProposalRecord | None:
        try:
            return self.repository.proposals.get(proposal_id)
        except StoreError as err:
            self.say(str(err))
            return None

    def open_proposal(self, proposal_id: int) -> None:
        proposal = self.load_proposal(proposal_id)
        if proposal is None:
            return
        if self.screen is not self.proposal_screen:
            self.push_screen("proposal")
        self.proposal_screen.show_proposal(proposal, self.model.flags.get(proposal_id, frozenset()))
        if self.lease is not None:
            self.lease.hold(proposal_id)

    def close_proposal(self) -> None:
        if self.lease is not None:
            self.lease.hold(None)
        if self.screen is self.proposal_screen:
            self.pop_screen()
        current = self.proposal_screen.proposal
        self.queue_screen.refresh_rows(keep_id=current.id if current else None)

    def open_neighbour(self, proposal_id: int, step: int) -> None:
        items = self.model.items
        position = self.model_position(proposal_id)
        if not items:
            return
        index = 0 if position is None else max(0, min(len(items) - 1, position[0] - 1 + step))
        self.open_proposal(items[index].id)

    # -- decisions -----------------------------------------------------------------------------------------------------

    def approve(self, proposal: ProposalRecord, *, shown_at: dt.datetime | None = None) -> None:
        self._decided(proposal, lambda: self.decider.approve(proposal, shown_at=shown_at))

    def reject(self, proposal: ProposalRecord, *, shown_at: dt.datetime | None = None) -> None:
        from app.tui.widgets import Prompt

        def send(reason: str | None) -> None:
            if reason:
                self._decided(proposal, lambda: self.decider.reject(proposal, reason, shown_at=shown_at))

        self.push_screen(Prompt(f"Why reject #{proposal.id}? (the agent revises from it)", required=True), send)

    def edit(self, proposal: ProposalRecord, *, shown_at: dt.datetime | None = None) -> None:
        if proposal.kind == "command":
            original = (proposal.command or "").encode("utf-8")
        elif proposal.new_content is None:
            self.say("This proposal deletes the file: approve or reject it.")
            return
        else:
            original = proposal.new_content
        suffix = ".sh" if proposal.kind == "command" else Path(proposal.path or "file.txt").suffix or ".txt"
        edited = self.run_editor(original, suffix=suffix)
        if edited is None:
            return
        if edited == original:
            self.say("The editor left it unchanged: nothing decided (a approves as proposed).")
            return
        self._decided(proposal, lambda: self.decider.edit(proposal, edited, shown_at=shown_at))

    def decide_hunks(self, proposal: ProposalRecord, verdicts, *, shown_at: dt.datetime | None = None) -> None:
        self._decided(proposal, lambda: self.decider.by_hunk(proposal, verdicts, shown_at=shown_at))

    def compare(self, proposal: ProposalRecord, *, shown_at: dt.datetime | None = None) -> None:
        """Sample alternatives for the proposal's step with the session's own API key (off the key path), then show
        them; a pick or a rejection of all is decided like any other decision."""
        if self.host is None:
            self.say(f"Compare needs the session runner of `signoff tui`; or: signoff compare {proposal.id}")
            return
        if proposal.kind == "command" and not proposal.command:
            return
        self.say(f"Sampling alternatives for #{proposal.id} …")
        self.run_worker(self._sample(proposal, shown_at), group="compare", exclusive=True)

    async def _sample(self, proposal: ProposalRecord, shown_at: dt.datetime | None) -> None:
        from app.services import compare as compare_service
        from app.services.endpoints import NoApiKeyError, load_sdk
        from app.tui.compare_screen import CompareScreen

        assert self.host is not None
        host = self.host
        try:
            session = await host.repository.read(lambda store: store.sessions.get(proposal.session_id))
            await load_sdk()
            client = host.endpoints.client(session.endpoint)
            try:
                record = await compare_service.sample(
                    host.repository,
                    client,
                    proposal.id,
                    compare_service.DEFAULT_ALTERNATIVES,
                    requested_by=self.decider.reviewer,
                    channel="tui",
                )
            finally:
                await client.close()
        except NoApiKeyError as err:
            self.say(f"c needs the session's API key: {err}")
            return
        except (compare_service.CompareError, StoreError) as err:
            self.say(str(err))
            return
        if self.screen is not self.proposal_screen or self.proposal_screen.proposal is not proposal:
            # The reviewer moved on while it sampled: keep the alternatives for later (`signoff compare --last`).
            self.say(
                f"Alternatives for #{proposal.id} are ready: c on it again, or signoff compare {proposal.id} --last"
            )
            return

        def pick(position: int) -> None:
            self.pop_screen()
            self._decided(proposal, lambda: self.decider.pick(proposal, record.id, position, shown_at=shown_at))

        def reject_all() -> None:
            from app.tui.widgets import Prompt

            def send(reason: str | None) -> None:
                if reason:
                    self.pop_screen()
                    self._decided(
                        proposal,
                        lambda: self.decider.pick(proposal, record.id, None, reason=reason, shown_at=shown_at),
                    )

            self.push_screen(Prompt(f"Why reject every alternative of #{proposal.id}?", required=True), send)

        self.push_screen(CompareScreen(record, on_pick=pick, on_reject_all=reject_all))

    def undo(self) -> None:
        try:
            proposal = self.decider.undo_last()
        except DecisionRefusedError as err:
            self.say(str(err))
            return
        self.model.reload(at_least=len(self.model.items) + 1)
        if self.screen is self.proposal_screen:
            self.open_proposal(proposal.id)
        else:
            self.queue_screen.refresh_rows(keep_id=proposal.id)
        self.say(f"Undone: #{proposal.id} waits for a decision again.")

    def _decided(self, proposal: ProposalRecord, decide) -> DecisionRecord | None:
        """Record the decision (durable when it returns), drop its row, and show the next item where the reviewer is."""
        signature = self.model.signature
        try:
            decision = decide()
        except DecisionRefusedError as err:
            self.say(str(err))
            return None
        # Only this decision changed the store since the last load: no reload needed for it.
        if signature is not None and signature[1] == decision.id - 1:
            self.model.signature = (signature[0], decision.id)
        index = self.model.drop(proposal.id)
        if len(self.model.items) - (index or 0) < LOAD_AHEAD:
            # The next rows are fetched before the reviewer reaches them, not when the list runs dry.
            self.model.load_more()
        message = self._decided_text(proposal, decision)
        if self.screen is self.proposal_screen:
            items = self.model.items
            if items:
                self.open_proposal(items[min(index or 0, len(items) - 1)].id)
            else:
                self.close_proposal()
        else:
            self.queue_screen.refresh_rows(keep_index=index or 0)
        self.say(message)
        return decision

    def _decided_text(self, proposal: ProposalRecord, decision: DecisionRecord) -> str:
        status = self.repository.proposals.get(proposal.id).status if self.team else "decided"
        if status in ("awaiting_second_review", "disputed"):
            return f"Recorded your review of #{proposal.id}; it now waits for {status.replace('_', ' ')}."
        words = VERDICT_WORDS.get(decision.verdict, decision.verdict)
        undo = f" · u undoes within {self.settings.undo_seconds:g} s" if self.settings.undo_seconds > 0 else ""
        return f"{words}: #{proposal.id} {proposal.target}{undo}"

    # -- the editor ----------------------------------------------------------------------------------------------------

    def run_editor(self, content: bytes, *, suffix: str) -> bytes | None:
        """``$VISUAL`` / ``$EDITOR`` (else vi) on a temporary copy of ``content``; its bytes after the editor exits, or
        None when it failed (then the reason is on the status line)."""
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        with tempfile.TemporaryDirectory(prefix="signoff-edit-") as folder:
            path = Path(folder) / f"proposal{suffix}"
            path.write_bytes(content)
            command = [*shlex.split(editor), str(path)]
            try:
                try:
                    with self.suspend():
                        result = subprocess.run(command, check=False)
                except SuspendNotSupported:
                    # Headless (tests, pipes): the editor runs without handing it the terminal.
                    result = subprocess.run(command, check=False, stdin=subprocess.DEVNULL, capture_output=True)
            except OSError as err:
                self.say(f"Cannot start the editor {editor!r}: {err.strerror or err}. Set $EDITOR.")
                return None
            self.refresh()
            if result.returncode != 0:
                self.say(f"The editor exited with status {result.returncode}: nothing decided.")
                return None
            return path.read_bytes()


def run_tui(
    *, db_url: str | None = None, demo: bool = False, reviewer: str | None = None, team: bool | None = None
) -> int:
    """Open the terminal UI (blocking until the reviewer quits); the exit status."""
    import sys

    from app.services.settings import load_settings
    from app.store.db import open_database

    settings = load_settings()
    url = db_url or os.environ.get("SIGNOFF_DB") or settings.database or None
    try:
        database = open_database(url)
    except StoreError as err:
        print(f"signoff: {err}", file=sys.stderr)
        return 1
    if team is None:
        team = getattr(database, "dialect", "") == "postgresql"
    app = SignoffTui(Repository(database), settings, reviewer=reviewer, demo=demo, team=team)
    app.run()
    return 0
