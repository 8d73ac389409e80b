"""The store: every read and write Signoff makes to its database, one aggregate per concern, over plain records.

The database is also the queue between processes: runners create proposals, any reviewer (window or command line,
on any machine sharing the database) decides them, and the runner owning the session applies them. A decision is
claimed with a conditional UPDATE so no proposal is ever decided twice. No Qt here.

Like anki's ``Collection`` (``col.decks = DeckManager(col)``), ``Repository`` only holds the aggregates:

- ``sessions``  agent sessions, runners and heartbeats, usage, the transcript (app.store.sessions)
- ``proposals`` proposals, decisions, undo, apply intents and outcomes (app.store.proposals)
- ``queue``     the review queue's pages, signature, choices and figures (app.store.queue)
- ``claims``    reviewers' leases on proposals (app.store.claims)
- ``reviews``   team review rules, blind second reviews, adjudication, agreement (app.store.reviews)
- ``compares``  compare mode's alternatives and picks (app.store.compare)
- ``judgments`` the machine judges: judge settings, verifier runs and baselines, critic verdicts (app.store.judgments)
- ``changesets`` changeset-mode worktrees and the files of changeset proposals (app.store.changesets)
- ``watchers``  processes (an open window) that carry out decisions on sessions nobody runs (app.store.watchers)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.store.changesets import Changesets
from app.store.claims import Claims
from app.store.compare import Compares
from app.store.judgments import Judgments
from app.store.proposals import Proposals
from app.store.queue import Queue
from app.store.reviews import Reviews
from app.store.sessions import Sessions
from app.store.watchers import Watchers

if TYPE_CHECKING:
    from app.store.db import Database


class Repository:
    """Synchronous access; call it from one thread at a time (``AsyncRepository`` does that for the event loop)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.sessions = Sessions(database)
        self.proposals = Proposals(database)
        self.queue = Queue(database)
        self.claims = Claims(database)
        self.reviews = Reviews(database)
        self.compares = Compares(database)
        self.judgments = Judgments(database)
        self.changesets = Changesets(database)
        self.watchers = Watchers(database)
