"""The tools the corpus scripts call: a small, deterministic fake of the APIs agents work with."""

from __future__ import annotations

import asyncio
from typing import Any

from enclave_vm import Toolset

USERS = [
    {"id": 1, "name": "Ada", "email": "ada@example.com", "active": True, "team": "core"},
    {"id": 2, "name": "Grace", "email": "grace@example.com", "active": False, "team": "core"},
    {"id": 3, "name": "Linus", "email": "linus@example.org", "active": True, "team": "infra"},
    {"id": 4, "name": "Barbara", "email": "barbara@example.com", "active": True, "team": "infra"},
    {"id": 5, "name": "Ken", "email": "ken@example.net", "active": False, "team": "research"},
]
TICKETS = [
    {"id": 100 + i, "title": f"Ticket {i}", "status": "open" if i % 3 else "closed", "priority": ["low", "high"][i % 2],
     "assignee": None if i % 4 else "ada"}
    for i in range(1, 24)
]  # fmt: skip
ORDERS = {
    1: [{"id": "o-1", "total": 120.5, "status": "paid", "items": 3}, {"id": "o-2", "total": 40, "status": "refunded",
        "items": 1}],
    3: [{"id": "o-3", "total": 99.99, "status": "paid", "items": 2}],
    4: [],
}  # fmt: skip
DOCUMENT = (
    "Contact: ada@example.com or support@example.org.\n"
    "Phone: +1-555-0100, fax +1-555-0199.\n"
    "Invoice INV-2024-0042 due 2024-03-15; INV-2024-0043 due 2024-04-01.\n"
)
PAGES = {
    None: {"items": [1, 2, 3], "next": "p2"},
    "p2": {"items": [4, 5], "next": "p3"},
    "p3": {"items": [6], "next": None},
}
CITIES = {"Paris": 18.5, "Oslo": 4.0, "Cairo": 31.0}

toolset = Toolset()


@toolset.tool(name="users:list")
def list_users(limit: int = 10, active: bool | None = None) -> list[dict[str, Any]]:
    """List users, optionally only active (or inactive) ones."""
    found = [u for u in USERS if active is None or u["active"] == active]
    return found[:limit]


@toolset.tool(name="users:get")
def get_user(id: int) -> dict[str, Any]:
    """One user by id."""
    for user in USERS:
        if user["id"] == id:
            return user
    raise LookupError(f"user {id} not found")


@toolset.tool(name="tickets:list")
def list_tickets(status: str | None = None, page: int = 1, page_size: int = 5) -> dict[str, Any]:
    """A page of tickets; `next_page` is null on the last page."""
    found = [t for t in TICKETS if status is None or t["status"] == status]
    start = (page - 1) * page_size
    items = found[start : start + page_size]
    return {"items": items, "next_page": page + 1 if start + page_size < len(found) else None}


@toolset.tool(name="tickets:assign")
async def assign_ticket(id: int, assignee: str) -> dict[str, Any]:
    """Assign a ticket (async: a database in real life)."""
    await asyncio.sleep(0)
    return {"id": id, "assignee": assignee}


@toolset.tool(name="orders:search")
def search_orders(customer_id: int) -> list[dict[str, Any]]:
    """A customer's orders."""
    return ORDERS.get(customer_id, [])


@toolset.tool(name="mail:send")
def send_mail(to: str, subject: str, body: str = "") -> dict[str, Any]:
    """Send an email."""
    if "@" not in to:
        raise ValueError(f"invalid address: {to}")
    return {"sent": True, "to": to, "subject": subject}


@toolset.tool(name="weather:current")
async def weather(city: str) -> dict[str, Any]:
    """The current temperature of a city."""
    await asyncio.sleep(0)
    if city not in CITIES:
        raise LookupError(f"unknown city {city}")
    return {"city": city, "temp_c": CITIES[city]}


@toolset.tool(name="docs:page")
def docs_page(cursor: str | None = None) -> dict[str, Any]:
    """A page of document ids; `next` is the cursor of the next page or null."""
    return PAGES[cursor]


@toolset.tool(name="text:fetch")
def fetch_text(url: str) -> str:
    """The text of a document."""
    return DOCUMENT


@toolset.tool(name="kv.get")
def kv_get(key: str) -> Any:
    """A value from the key-value store (null when missing)."""
    return {"greeting": "hello", "count": 3}.get(key)


@toolset.tool(name="search")
def search(query: str, limit: int = 3) -> list[dict[str, Any]]:
    """Web search results."""
    return [{"title": f"{query} result {i}", "url": f"https://example.com/{i}", "score": 10 - i} for i in range(limit)]
