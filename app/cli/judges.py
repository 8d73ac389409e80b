"""``signoff verify``, ``signoff critique`` and ``signoff judges``: the machine judges from the command line, plus the
judges' fields that ``queue --json``, ``show --json`` and ``stats`` print (see app.services.judges).

The judges' settings live in the database (``judges set``), never in the workspace, where the agent could edit them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.cli import common
from app.cli.errors import CliError
from app.domain.judgments import VERIFY_ON, JudgeConfig, JudgeSettingsError


def add_commands(commands: Any) -> None:
    verify = commands.add_parser("verify", help="run the workspace's tests on a file proposal in an isolated copy")
    verify.add_argument("proposal_id", type=int, metavar="ID")
    verify.add_argument("--json", action="store_true")
    verify.add_argument("--db", metavar="URL", dest="sub_db")

    critique = commands.add_parser("critique", help="ask the critic model for its verdict on a proposal")
    critique.add_argument("proposal_id", type=int, metavar="ID")
    critique.add_argument("--json", action="store_true")
    critique.add_argument("--db", metavar="URL", dest="sub_db")

    judges = commands.add_parser(
        "judges", help="a workspace's verifier and critic settings (kept in the database, out of the agent's reach)"
    )
    actions = judges.add_subparsers(dest="judges_command", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="the verify command, time limit, rubric and blind mode in force")
    change = actions.add_parser("set", help="change some of them (the others stay as they are)")
    change.add_argument("--verify-command", metavar="CMD", help="e.g. 'python -m pytest -q' ('' : detect it)")
    change.add_argument("--verify-timeout", type=float, metavar="SECONDS")
    change.add_argument("--verify-on", choices=VERIFY_ON, help="run on every proposal, or only on request")
    change.add_argument("--rubric-file", metavar="PATH", help="the critic's rubric as text ('' : the default)")
    change.add_argument("--blind", choices=["on", "off", "default"], help="hide the critic until the person decides")
    change.add_argument(
        "--sensitive", action="append", metavar="GLOB", help="paths that raise the risk score (repeatable)"
    )
    change.add_argument(
        "--auto-approve-kappa",
        metavar="K",
        help="let the critic approve on its own while its Cohen's kappa with the people is at least K ('off': never)",
    )
    change.add_argument(
        "--auto-approve-over", type=int, metavar="N", help="measure that kappa over the last N decisions (50)"
    )
    change.add_argument(
        "--auto-approve-kinds", metavar="KINDS", help="the low-risk kinds it may approve, e.g. 'edit,create'"
    )
    change.add_argument(
        "--auto-approve-max-risk", type=float, metavar="R", help="never above this risk score (0.2; at most 0.5)"
    )
    change.add_argument("--reviewer", metavar="NAME")
    for sub in (show, change):
        sub.add_argument("--workspace", default=".", metavar="DIR", help="the workspace folder (default: here)")
        sub.add_argument("--json", action="store_true")
        sub.add_argument("--db", metavar="URL", dest="sub_db")


def run_verify(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services.settings import load_settings
    from app.services.verifier import Verifier
    from app.store.async_repository import AsyncRepository

    repository = common.repository(db_url)
    proposal = common.proposal(repository, args.proposal_id)
    async_repository = AsyncRepository(repository)

    async def verify():
        return await Verifier(async_repository, load_settings).verify(proposal)

    try:
        import asyncio

        result = asyncio.run(verify())
    finally:
        async_repository.close()
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
        return 0
    print(verifier_line(result))
    if result.newly_failing:
        print("Newly failing: " + ", ".join(result.newly_failing))
    if result.newly_passing:
        print("Newly passing: " + ", ".join(result.newly_passing))
    if result.still_failing:
        print("Still failing: " + ", ".join(result.still_failing))
    if result.note:
        print(result.note)
    return 0


def verifier_line(result) -> str:
    if result.status in ("skipped", "running"):
        return f"Verifier: {result.status}."
    seconds = f" in {result.seconds:.1f} s" if result.seconds is not None else ""
    return f"Verifier: {result.status} ({result.passed} passed, {result.failed} failed{seconds}) — `{result.command}`"


def run_critique(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services.api_key import ApiKeyStore
    from app.services.critic import Critic
    from app.services.endpoints import Endpoints, NoApiKeyError
    from app.services.settings import load_settings
    from app.store.async_repository import AsyncRepository

    repository = common.repository(db_url)
    proposal = common.proposal(repository, args.proposal_id)
    async_repository = AsyncRepository(repository)
    endpoints = Endpoints(ApiKeyStore().current)

    async def critique():
        return await Critic(async_repository, endpoints, load_settings).critique(proposal)

    try:
        import asyncio

        result = asyncio.run(critique())
    except NoApiKeyError as err:
        raise CliError(str(err)) from None
    finally:
        endpoints.close()
        async_repository.close()
    if result.status == "error":
        raise CliError(f"The critic did not answer: {result.error}")
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
        return 0
    print(critic_line(result))
    print(result.rationale or "")
    return 0


def critic_line(result) -> str:
    principles = ", ".join(result.principles) or "-"
    return f"Critic ({result.model}): {result.verdict}, score {result.score:.2f}; principles: {principles}"


def run_judges(args: argparse.Namespace, db_url: str | None) -> int:
    from app.services.judges import blind as judges_blind
    from app.services.judges import is_team_database
    from app.services.settings import load_settings
    from app.services.verifier import Effective

    root = Path(args.workspace).expanduser()
    if not root.is_dir():
        raise CliError(f"The workspace folder {root} does not exist or is not a folder.")
    workspace = str(root.resolve())
    repository = common.repository(db_url)
    judgments = repository.judgments
    config = judgments.config(workspace)
    if args.judges_command == "set":
        config = _changed(config, args)
        try:
            config = judgments.set_config(workspace, config)
        except JudgeSettingsError as err:
            raise CliError(str(err)) from None
        if not args.json:
            print(f"Saved the judges' settings of {workspace}.")
    settings = load_settings()
    effective = Effective.of(config, settings, root.resolve())
    if args.json:
        print(json.dumps({"stored": config.as_json(), "verify_command_in_force": effective.command}, indent=2))
        return 0
    print(
        f"Verify command: {effective.command or '(none found; set one)'}"
        + ("" if config.verify_command else " (detected)")
    )
    print(f"Time limit: {effective.timeout_s:g} s · runs on: {effective.on}")
    blind = judges_blind(config, settings, team=is_team_database(repository))
    print(f"Critic: {settings.critic_model if settings.critic_enabled else 'off'} · blind: {'on' if blind else 'off'}")
    print("Rubric: " + ("the workspace's own" if config.critic_rubric else "the default"))
    if config.sensitive_globs is not None:
        print("Sensitive paths: " + ", ".join(config.sensitive_globs))
    print(auto_approve_line(repository, workspace, config))
    return 0


def auto_approve_line(repository, workspace: str, config: JudgeConfig) -> str:
    """Auto-approval in force, and where the critic's agreement with the people stands against its threshold."""
    from app.domain.auto_approve import recent_agreement

    if not config.auto_approve_on:
        return "Critic auto-approval: off"
    auto = config.as_json()["auto_approve"]
    pairs = [(h, c) for *_, h, c in repository.judgments.human_and_critic(workspace, last=auto["over_last"])]
    kappa, items = recent_agreement(pairs, auto["over_last"])
    shown = "n/a" if kappa is None else f"{kappa:.2f}"
    active = items >= auto["over_last"] and kappa is not None and kappa >= auto["kappa_at_least"]
    return (
        f"Critic auto-approval: {', '.join(auto['kinds'])} at risk ≤ {auto['risk_at_most']:.2f} while kappa ≥ "
        f"{auto['kappa_at_least']:.2f} over the last {auto['over_last']} decisions; now kappa {shown} over "
        f"{items} ({'active' if active else 'not active'})"
    )


def _changed(config: JudgeConfig, args: argparse.Namespace) -> JudgeConfig:
    from dataclasses import replace

    changes: dict[str, Any] = {"updated_by": common.reviewer(args) or None}
    if args.verify_command is not None:
        changes["verify_command"] = args.verify_command.strip() or None
    if args.verify_timeout is not None:
        changes["verify_timeout_s"] = args.verify_timeout
    if args.verify_on is not None:
        changes["verify_on"] = args.verify_on
    if args.rubric_file is not None:
        if args.rubric_file == "":
            changes["critic_rubric"] = None
        else:
            try:
                changes["critic_rubric"] = Path(args.rubric_file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                raise CliError(f"Cannot read the rubric {args.rubric_file}: {err}.") from None
    if args.blind is not None:
        changes["critic_blind"] = {"on": True, "off": False, "default": None}[args.blind]
    if args.auto_approve_kappa is not None:
        changes["auto_approve_kappa"] = _kappa(args.auto_approve_kappa)
    if args.auto_approve_over is not None:
        changes["auto_approve_window"] = args.auto_approve_over
    if args.auto_approve_kinds is not None:
        changes["auto_approve_kinds"] = tuple(
            dict.fromkeys(kind.strip().lower() for kind in args.auto_approve_kinds.split(",") if kind.strip())
        )
    if args.auto_approve_max_risk is not None:
        changes["auto_approve_max_risk"] = args.auto_approve_max_risk
    if changes.get("auto_approve_kappa") is not None and not changes.get(
        "auto_approve_kinds", config.auto_approve_kinds
    ):
        changes["auto_approve_kinds"] = ("edit", "create")  # the low-risk kinds, unless the owner names others
    if args.sensitive:
        changes["sensitive_globs"] = tuple(
            part.strip() for value in args.sensitive for part in value.split(",") if part.strip()
        )
    return replace(config, **changes)


def _kappa(text: str) -> float | None:
    if text.strip().lower() in ("off", "none", ""):
        return None
    try:
        return float(text)
    except ValueError:
        raise CliError(f"--auto-approve-kappa takes a number such as 0.8, or 'off', not {text!r}.") from None


def show_json(repository, proposal) -> int:
    decision = repository.proposals.visible_decision(proposal.id)
    row = {
        "id": proposal.id,
        "session": proposal.session_id,
        "workspace": proposal.workspace_root,
        "task": proposal.task,
        "kind": proposal.kind,
        "path": proposal.path,
        "command": proposal.command,
        "status": proposal.status,
        "shown_text": proposal.shown_text,
        "decision": None
        if decision is None
        else {"verdict": decision.verdict, "reviewer": decision.reviewer, "reason": decision.reason},
        **judges_fields(repository, [proposal])[proposal.id],
    }
    if proposal.kind == "changeset":
        from app.cli.changeset import changeset_json

        row.update(changeset_json(proposal))
    print(json.dumps(row, indent=2))
    return 0


def judges_fields(repository, proposals, flags=None) -> dict[int, dict[str, Any]]:
    """Per proposal id: the "verifier", "critic" and "risk" keys of the JSON contract (issue 13)."""
    from app.services.judges import judged
    from app.services.settings import load_settings

    results = judged(repository, proposals, flags, load_settings())
    return {pid: result.as_json() for pid, result in results.items()}


def stats_json(repository) -> list[dict[str, Any]]:
    from app.services.judges import critic_agreement

    return [entry.as_json() for entry in critic_agreement(repository.judgments.human_and_critic())]


def print_stats(repository) -> None:
    from app.services.judges import critic_agreement

    rows = critic_agreement(repository.judgments.human_and_critic())
    if not rows:
        print("The critic has judged nothing a person decided yet, so there is no human-critic agreement to show.")
        return
    print(f"{'HUMAN VS CRITIC':<34} {'ITEMS':>6} {'AGREE':>7} {'KAPPA':>7}")
    for row in rows:
        kappa = "n/a" if row.kappa is None else f"{row.kappa:.2f}"
        name = "everyone" if row.scope == "all" else f"{row.scope} {row.name}"
        print(f"{name[-34:]:<34} {row.items:>6} {row.percent_agreement * 100:>6.1f}% {kappa:>7}")


HANDLERS = {"verify": run_verify, "critique": run_critique, "judges": run_judges}


def print_judges(repository, proposal) -> None:
    """The judges' lines of ``signoff show``: verifier, critic (unless blind mode hides it), risk and why."""
    from app.services.judges import judged
    from app.services.settings import load_settings

    result = judged(repository, [proposal], None, load_settings())[proposal.id]
    if result.verifier is not None:
        print(verifier_line(result.verifier))
        if result.verifier.newly_failing:
            print("  Newly failing: " + ", ".join(result.verifier.newly_failing))
        if result.verifier.newly_passing:
            print("  Newly passing: " + ", ".join(result.verifier.newly_passing))
    if result.critic_hidden:
        print("Critic: answered; shown after you decide (blind mode).")
    elif result.critic is not None and result.critic.status == "done":
        print(critic_line(result.critic))
        print(f"  {result.critic.rationale}")
    reasons = "; ".join(result.risk.reasons) or "nothing stands out"
    print(f"Risk: {result.risk.score:.2f} ({reasons})")


def attach_judges(manager, repository, endpoints):
    """Start the verifier and the critic on every proposal a headless run makes, and let the critic approve where the
    workspace's owner allowed it (said on stderr); returns the runner to shut down."""
    import sys

    from app.services.auto_approve import AutoApprover
    from app.services.critic import Critic
    from app.services.judges import JudgeRunner
    from app.services.settings import load_settings
    from app.services.verifier import Verifier

    runner = JudgeRunner(
        Verifier(repository, load_settings),
        Critic(repository, endpoints, load_settings),
        AutoApprover(repository, manager.decide, lambda done: print(done.notice, file=sys.stderr, flush=True)),
    )
    manager.add_listener(runner)
    return runner
