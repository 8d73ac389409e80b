"""``signoff compare`` and ``signoff pick``: compare mode from the command line (see app.services.compare).

``compare`` samples alternatives itself (sampling only reads; it uses the session's endpoint and this machine's API
key), stores them and prints them side by side as text; ``pick`` records the choice in the database, and the
session's runner applies it as the agent's own tool call.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from app.services import compare


def add_commands(commands: Any) -> None:
    sub = commands.add_parser("compare", help="sample N alternatives for a waiting proposal and print them")
    sub.add_argument("proposal_id", type=int, metavar="ID")
    sub.add_argument(
        "-n",
        "--count",
        type=int,
        default=compare.DEFAULT_ALTERNATIVES,
        metavar="N",
        help=f"how many alternatives ({compare.MIN_ALTERNATIVES}-{compare.MAX_ALTERNATIVES}, default "
        f"{compare.DEFAULT_ALTERNATIVES})",
    )
    sub.add_argument("--last", action="store_true", help="print the alternatives sampled last time, sample nothing")
    sub.add_argument("--reviewer", metavar="NAME")
    sub.add_argument("--db", metavar="URL", dest="sub_db")

    pick = commands.add_parser("pick", help="pick one of a proposal's compared alternatives, or reject them all")
    pick.add_argument("proposal_id", type=int, metavar="ID")
    choice = pick.add_mutually_exclusive_group(required=True)
    choice.add_argument("--alternative", type=int, metavar="K", help="0 is the original, 1..N the alternatives")
    choice.add_argument("--reject-all", action="store_true", help="reject every alternative (needs --reason)")
    pick.add_argument("--reason", metavar="TEXT")
    pick.add_argument("--compare", type=int, metavar="C", help="which compare (default: the proposal's latest)")
    pick.add_argument("--strength", type=int, metavar="1-5")
    pick.add_argument("--reviewer", metavar="NAME")
    pick.add_argument("--db", metavar="URL", dest="sub_db")


def _print_compare(record: Any) -> None:
    print(f"Compare {record.id} of proposal {record.proposal_id}: the original and {record.count} alternatives.")
    for alternative in record.alternatives:
        print()
        print(f"=== [{alternative.position}] {compare.header_text(alternative)}")
        said = "".join(
            block.get("text", "") for block in (alternative.content or []) if block.get("type") == "text"
        ).strip()
        if said:
            print(f"    says: {said[:300]}")
        print(alternative.shown_text.rstrip("\n"))
    print()
    print(f"Pick one: signoff pick {record.proposal_id} --alternative K   (or --reject-all --reason TEXT)")


def run_compare(
    args: argparse.Namespace, db_url: str | None, *, database, reviewer: str, error: type[Exception]
) -> int:
    from app.services.api_key import ApiKeyStore
    from app.services.endpoints import Endpoints, NoApiKeyError
    from app.store.async_repository import AsyncRepository
    from app.store.errors import StoreError
    from app.store.repository import Repository

    if args.last:
        record = Repository(database).compares.latest(args.proposal_id)
        if record is None:
            raise error(
                f"Proposal {args.proposal_id} has no alternatives yet; `signoff compare {args.proposal_id}` samples them."
            )
        _print_compare(record)
        return 0

    async def sample() -> Any:
        repository = AsyncRepository(Repository(database))
        endpoints = Endpoints(ApiKeyStore().current)
        try:
            proposal = await repository.read(lambda store: store.proposals.get(args.proposal_id))
            session = await repository.read(lambda store: store.sessions.get(proposal.session_id))
            client = endpoints.client(session.endpoint)
            try:
                return await compare.sample(
                    repository, client, args.proposal_id, args.count, requested_by=reviewer, channel="cli"
                )
            finally:
                await client.close()
        finally:
            endpoints.close()
            repository.close()

    try:
        record = asyncio.run(sample())
    except (compare.CompareError, NoApiKeyError, StoreError) as err:
        raise error(str(err)) from None
    _print_compare(record)
    return 0


def run_pick(args: argparse.Namespace, *, repository, reviewer: str, error: type[Exception]) -> int:
    from app.services.review import ReviewError
    from app.store.errors import StoreError

    if args.reject_all and not (args.reason or "").strip():
        raise error("--reject-all needs --reason TEXT: the agent revises from it.")
    try:
        compare_id = args.compare
        if compare_id is None:
            latest = repository.compares.latest(args.proposal_id)
            if latest is None:
                raise error(
                    f"Proposal {args.proposal_id} has no alternatives; `signoff compare {args.proposal_id}` samples them."
                )
            compare_id = latest.id
        request = compare.PickRequest(
            args.proposal_id,
            compare_id,
            None if args.reject_all else args.alternative,
            reviewer,
            reason=args.reason,
            channel="cli",
            strength=args.strength,
        )
        decision = compare.pick(repository, request)
    except (compare.CompareError, ReviewError, StoreError) as err:
        raise error(str(err)) from None
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
    return 0
