"""``signoff policy show | add | remove | check``: a workspace's allow / ask / deny rules (.signoff/policy.toml).
Needs no database."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.errors import CliError


def policy_command(args: argparse.Namespace, db_url: str | None) -> int:
    from app.domain import policy
    from app.services import policy_file

    root = Path(args.workspace).expanduser()
    if not root.is_dir():
        raise CliError(f"The workspace folder {root} does not exist or is not a folder.")
    try:
        if args.policy_command == "show":
            print(policy_file.policy_listing(root))
        elif args.policy_command == "add":
            if args.kind == "command":
                rule = policy.Rule.for_command(
                    args.action, args.pattern, args.match, args.note, git_writes=args.git_writes, network=args.network
                )
            else:
                rule = policy.Rule(
                    args.action, args.kind, args.pattern, "prefix", args.note, args.git_writes, args.network
                )
            policy_file.add_rules(root, [rule])
            print(f"Added: {rule.label} ({policy.policy_path(root)}).")
        elif args.policy_command == "remove":
            removed = policy_file.remove_rule(root, args.number)
            print(f"Removed rule {args.number}: {removed.label}.")
        else:
            rules = policy_file.load_policy(root)
            if args.check_command is not None:
                verdict = rules.check_command(args.check_command, args.cwd, root=root)
                if verdict.action == "allow":
                    from app.services.sandbox import sandbox_info

                    sandbox = sandbox_info()
                    if not sandbox.available:
                        # The agent asks a person in this case too (proposal_resolve._apply_policy): say so plainly.
                        print(
                            f"ask: {sandbox.detail} Without a sandbox, allow rules ask "
                            f"(the rules say: {verdict.reason})"
                        )
                        return 0
            else:
                verdict = rules.check_file(
                    "edit" if args.edit is not None else "create", (args.edit or args.create).strip("/")
                )
            granted = [w for w, on in ((".git writes", verdict.git_writes), ("network", verdict.network)) if on]
            print(f"{verdict.action}: {verdict.reason}" + (f" Grants {' and '.join(granted)}." if granted else ""))
    except policy.PolicyError as err:
        raise CliError(str(err)) from None
    return 0
