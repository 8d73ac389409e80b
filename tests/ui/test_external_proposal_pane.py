"""An external agent's proposal in the review pane: what its protocol cannot carry is said before anyone decides, and a
withdrawn one says why it no longer waits."""

from __future__ import annotations

from pathlib import Path

from app.services.adapters import codex
from app.services.adapters.base import Change, ToolRequest
from app.services.adapters.broker import Broker
from app.store.db import open_database
from app.store.repository import Repository
from app.ui.review_panel import ReviewPanel


def _codex_proposal(tmp_path: Path) -> tuple[Broker, int]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "greet.py").write_text("def greet():\n    return 'hello'\n", encoding="utf-8")
    broker = Broker(open_database(str(tmp_path / "signoff.db")))
    request = ToolRequest(
        source=codex.SOURCE,
        session_key="thr_1",
        cwd=str(project),
        tool_name="fileChange",
        tool_input={"path": "greet.py"},
        tool_use_id="item_1:0",
    )
    change = Change(
        "edit",
        path="greet.py",
        old_content=b"def greet():\n    return 'hello'\n",
        new_content=b"def greet():\n    return 'hi'\n",
    )
    return broker, broker.submit(request, change, note=codex.PROTOCOL_NOTE).id


def test_a_codex_proposal_says_before_the_decision_that_a_reason_goes_as_the_next_user_turn(qtbot, tmp_path):
    broker, proposal_id = _codex_proposal(tmp_path)
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 500)
    panel.show()

    panel.show_proposal(Repository(broker.repository.database).proposals.get(proposal_id))

    assert panel.protocol_banner.isVisible()
    assert "next user message" in panel.protocol_banner.text()
    assert "no reason and no edit" in panel.protocol_banner.text()
    assert panel.approve_button.isEnabled()
    panel.grab().save(str(tmp_path / "protocol_note.png"))


def test_a_withdrawn_external_proposal_shows_why_it_no_longer_waits(qtbot, tmp_path):
    broker, proposal_id = _codex_proposal(tmp_path)
    assert broker.external.withdraw(proposal_id, "Codex closed the connection before a decision")
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    panel.show()

    panel.show_proposal(broker.repository.proposals.get(proposal_id))

    assert panel.banner.isVisible()
    assert panel.banner.text() == "Withdrawn: Codex closed the connection before a decision."


def test_a_proposal_of_signoffs_own_agent_shows_no_protocol_note(qtbot, tmp_path):
    broker, proposal_id = _codex_proposal(tmp_path)
    record = broker.repository.proposals.get(proposal_id)
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    panel.show()

    from dataclasses import replace

    panel.show_proposal(replace(record, protocol_note=None))

    assert not panel.protocol_banner.isVisible()
