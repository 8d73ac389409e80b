"""``signoff compare`` and ``signoff pick``: compare mode from the command line (see app.services.compare).

``compare`` samples alternatives itself (sampling only reads; it uses the session's endpoint and this machine's API
key), stores them and prints them side by side as text; ``pick`` records the choice in the database, and the
session's runner applies it as the agent's own tool call. Only ``compare`` without ``--last`` loads the anthropic SDK.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from app.cli import common
from app.cli.errors import CliError


def _print_compare(record: Any) -> None:
    from app.services.compare import header_text

    print(f"Compare {record.id} of proposal {record.proposal_id}: the original and {record.count} alternatives.")
    for alternative in record.alternatives:
        print()
        print(f"=== [{alternative.position}] {header_text(alternative)}")
        said = "".join(
            block.get("text", "") for block in (alternative.content or []) if block.get("type") == "text"
        ).strip()
        if said:
            print(f"    says: {said[:300]}")
        print(alternative.shown_text.rstrip("\n"))
    print()
    print(f"Pick one: signoff pick {record.proposal_id} --alternative K   (or --reject-all --reason TEXT)")


def compare(args: argparse.Namespace, db_url: str | None) -> int:
    database = common.database(db_url)
    if args.last:
        record = common.repository_of(database).compares.latest(args.proposal_id)
        if record is None:
            raise CliError(
                f"Proposal {args.proposal_id} has no alternatives yet; "
                f"`signoff compare {args.proposal_id}` samples them."
            )
        _print_compare(record)
        return 0

    from app.services import compare as compare_service
    from app.services.endpoints import NoApiKeyError
    from app.services.runtime import session_runtime
    from app.services.settings import load_settings
    from app.store.errors import StoreError

    reviewer = common.reviewer(args)

    async def sample() -> Any:
        runtime = session_runtime(database, settings=load_settings())
        repository = runtime.repository
        try:
            proposal = await repository.read(lambda store: store.proposals.get(args.proposal_id))
            session = await repository.read(lambda store: store.sessions.get(proposal.session_id))
            client = runtime.endpoints.client(session.endpoint)
            try:
                return await compare_service.sample(
                    repository, client, args.proposal_id, args.count, requested_by=reviewer, channel="cli"
                )
            finally:
                await client.close()
        finally:
            runtime.close()

    try:
        record = asyncio.run(sample())
    except (compare_service.CompareError, NoApiKeyError, StoreError) as err:
        raise CliError(str(err)) from None
    _print_compare(record)
    return 0


def pick(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services import compare as compare_service
    from app.services import decisions
    from app.services.review import ReviewError
    from app.store.errors import StoreError

    if args.reject_all and not (args.reason or "").strip():
        raise CliError("--reject-all needs --reason TEXT: the agent revises from it.")
    repository = common.repository(db_url)
    reviewer = common.reviewer(args)
    try:
        compare_id = args.compare
        if compare_id is None:
            latest = repository.compares.latest(args.proposal_id)
            if latest is None:
                raise CliError(
                    f"Proposal {args.proposal_id} has no alternatives; "
                    f"`signoff compare {args.proposal_id}` samples them."
                )
            compare_id = latest.id
        request = compare_service.PickRequest(
            args.proposal_id,
            compare_id,
            None if args.reject_all else args.alternative,
            "",
            reason=args.reason,
            strength=args.strength,
        )
        decision = decisions.pick(repository, request, decisions.Actor.cli(reviewer)).decision
    except (compare_service.CompareError, ReviewError, StoreError) as err:
        raise CliError(str(err)) from None
    proposal = repository.proposals.get(decision.proposal_id)
    if args.reject_all:
        print(f"Rejected every alternative of proposal {args.proposal_id}: {decision.reason}")
    elif args.alternative == 0:
        print(f"Picked the original: proposal {args.proposal_id} approved.")
    else:
        print(
            f"Picked alternative {args.alternative}: it answers the step as proposal {proposal.id} "
            f"({proposal.kind} {proposal.target}), approved."
        )
    common.say_who_applies(repository, repository.proposals.get(args.proposal_id).session_id)
    return 0
