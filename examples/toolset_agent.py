"""Code mode with a Toolset: the model writes one script instead of calling tools one by one.

There is no model here (no network, no SDK): the two "model turns" below are scripts shaped like what
an LLM writes, including a first attempt with mistakes. The point is the loop around them:

    tools.code_tool("openai")         -> the tool definition to send to the model
    await enclave.run_tool_call(args) -> the answer to send back (value, or an error it can fix)

    .venv/bin/python examples/toolset_agent.py
"""

from __future__ import annotations

import asyncio
import json
from typing import Literal, TypedDict

from enclave_vm import Enclave, Toolset


class Ticket(TypedDict):
    id: int
    title: str
    priority: Literal["low", "high"]
    assignee: str | None


TICKETS: list[Ticket] = [
    {"id": 1, "title": "Login fails on Safari", "priority": "high", "assignee": "ada"},
    {"id": 2, "title": "Typo in footer", "priority": "low", "assignee": None},
    {"id": 3, "title": "Export times out", "priority": "high", "assignee": None},
    {"id": 4, "title": "Dark mode contrast", "priority": "low", "assignee": "bob"},
]

tools = Toolset()


@tools.tool(name="tickets:list")
def list_tickets(priority: Literal["low", "high"] | None = None, limit: int = 50) -> list[Ticket]:
    """List open tickets, newest first.

    Args:
        priority: Only tickets with this priority.
        limit: At most this many tickets.
    """
    return [t for t in TICKETS if priority in (None, t["priority"])][:limit]


@tools.tool(name="tickets:assign")
async def assign_ticket(id: int, assignee: str) -> Ticket:
    """Assign a ticket to a person and return the updated ticket.

    Args:
        id: The ticket id.
        assignee: A user name.
    """
    await asyncio.sleep(0)  # an async tool: a database or an HTTP API in real life
    ticket = next(t for t in TICKETS if t["id"] == id)
    ticket["assignee"] = assignee
    return ticket


# What a model might send as `function.arguments` (OpenAI) over three turns: first a tool the host does
# not have (refused before anything runs, with a suggestion); then a misspelt tool argument; then a script
# that works.
TRIES = [
    """const open = await callTool('tickets:lst', { priority: 'high' });
return open;""",
    """const urgent = await callTool('tickets:list', { priorty: 'high' });
return urgent.length;""",
    """const urgent = await callTool('tickets:list', { priority: 'high' });
const unassigned = urgent.filter((t) => t.assignee === null);
for (const t of unassigned) {
  await callTool('tickets:assign', { id: t.id, assignee: 'on-call' });
}
console.log('assigned', unassigned.length, 'of', urgent.length, 'urgent tickets');
return unassigned.map((t) => t.id);""",
]


async def main() -> None:
    definition = tools.code_tool("openai", level="STANDARD")
    print("== the one tool the model gets ==")
    print(f"  name: {definition['function']['name']}")
    print(f"  description: {len(definition['function']['description'])} characters (AgentScript reference + tools)")
    for tool in tools.describe():
        print(f"  tool {tool['name']}: {json.dumps(tool['parameters'], separators=(',', ':'))}")

    async with Enclave(tool_handler=tools, security_level="STANDARD", timeout=5000) as enclave:
        for turn, code in enumerate(TRIES, start=1):
            arguments = json.dumps({"code": code})  # exactly what the API hands over
            answer = await enclave.run_tool_call(arguments)
            message = answer.to_openai_message(tool_call_id=f"call_{turn}")
            print(f"\n== model turn {turn}: {'error, the model fixes its script' if answer.is_error else 'done'} ==")
            print(f"  {message['role']} message content: {message['content']}")


if __name__ == "__main__":
    asyncio.run(main())
