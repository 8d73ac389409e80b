"""A Claude Agent SDK script whose every edit, write and command waits in Signoff's queue.

    pip install claude-agent-sdk        # and the `claude` CLI the SDK drives
    python packaging/examples/agent_sdk_signoff.py /path/to/project "Add a --verbose flag to cli.py"

Decide in Signoff's window or with `signoff queue` / `signoff approve ID` / `signoff reject ID --reason TEXT`.
"""

from __future__ import annotations

import asyncio
import sys

from claude_agent_sdk import AssistantMessage, ClaudeAgentOptions, ClaudeSDKClient, TextBlock

from app.adapters import signoff_can_use_tool


async def main(project: str, task: str) -> None:
    can_use_tool = signoff_can_use_tool(cwd=project)
    options = ClaudeAgentOptions(cwd=project, can_use_tool=can_use_tool)
    try:
        async with ClaudeSDKClient(options=options) as client:
            await client.query(task)
            async for message in client.receive_response():
                if isinstance(message, AssistantMessage):
                    for block in message.content:
                        if isinstance(block, TextBlock):
                            print(block.text)
    finally:
        # Withdraws anything still waiting for this run and marks its Signoff session finished.
        can_use_tool.signoff_service.close()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2]))
