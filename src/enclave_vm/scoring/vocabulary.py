"""Words that give a script's names away: tool verbs, destinations, and sensitive fields.

Every name (tool name, identifier, property, short string) is split into lower-case words
(`listAllUsers` → list, all, users; `api_key` → api, key) and matched against these sets.
Matching whole words, not substrings, is what keeps `getPosts` from looking like `post`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

# --- tool verbs -------------------------------------------------------------------------------

READ = frozenset(
    {
        "get", "fetch", "list", "query", "read", "search", "find", "load", "lookup", "retrieve",
        "select", "scan", "dump", "download", "pull", "export", "browse", "describe", "view",
    }
)  # fmt: skip
#: Reads that return many records rather than one.
COLLECTION = frozenset({"list", "query", "search", "find", "scan", "dump", "export", "browse", "select", "all"})
#: Reads that take a filter; called with none they match everything.
SEARCH = frozenset({"query", "search", "find", "scan"})
SEND = frozenset(
    {
        "send", "post", "upload", "publish", "forward", "share", "export", "notify", "transmit",
        "broadcast", "tweet", "exfiltrate",
    }
)  # fmt: skip
#: Channels that send when the name is nothing else (`webhook`, `http`), not `email:addLabel`.
CHANNEL = frozenset({"email", "mail", "sms", "webhook", "http", "https", "slack", "discord", "telegram"})
#: Destinations outside the system the tools belong to.
EXTERNAL = frozenset(
    {
        "http", "https", "webhook", "upload", "ftp", "sftp", "s3", "external", "forward", "paste",
        "pastebin", "gist", "curl", "url", "internet", "web", "remote", "dropbox", "ngrok",
    }
)  # fmt: skip
DELETE = frozenset({"delete", "remove", "destroy", "purge", "wipe", "drop", "truncate", "erase", "unlink", "rm"})
#: Deletes that take out everything by nature.
MASS_DELETE = frozenset({"purge", "wipe", "truncate", "drop"})
BULK_STRONG = frozenset({"all", "mass", "dump", "everything", "entire"})
BULK_WEAK = frozenset({"bulk", "batch"})

# --- argument keys ----------------------------------------------------------------------------

#: Argument keys that bound how much comes back (compared with `_` removed, lower-cased).
LIMIT_KEYS = frozenset(
    {
        "limit", "max", "maxresults", "maxitems", "maxrecords", "maxrows", "maxcount", "pagesize",
        "perpage", "count", "top", "size", "take", "first", "last", "batchsize", "rows", "n", "num",
        "numresults", "numrecords", "records", "results", "fetchsize", "chunksize",
    }
)  # fmt: skip
#: Words of keys whose big numbers are ordinary: times, durations, identifiers.
ORDINARY_NUMBER_WORDS = frozenset(
    {
        "id", "ids", "at", "time", "timestamp", "ts", "date", "since", "until", "before", "after",
        "from", "to", "ms", "ttl", "timeout", "duration", "delay", "epoch", "start", "end", "seconds",
        "millis", "expires", "expiry", "zip", "version", "seed",
    }
)  # fmt: skip
#: Keys that name where a request goes.
URL_KEYS = frozenset({"url", "uri", "endpoint", "webhook", "webhookurl", "callbackurl", "host", "hook"})

# --- sensitive fields -------------------------------------------------------------------------

CREDENTIAL = "credential"
PII = "pii"
FINANCIAL = "financial"
CONTACT = "contact"

_SENSITIVE_WORDS: dict[str, str] = {
    **dict.fromkeys(
        (
            "password", "passwd", "pwd", "passphrase", "secret", "credential", "cred", "apikey",
            "privatekey", "secretkey", "accesskey", "accesstoken", "authtoken", "refreshtoken",
            "vault", "keychain", "keystore", "bearer", "authorization",
        ),
        CREDENTIAL,
    ),
    **dict.fromkeys(
        ("ssn", "passport", "cvv", "cvc", "dob", "creditcard", "cardnumber", "taxid", "nationalid"),
        PII,
    ),
    **dict.fromkeys(("iban", "swift", "accountnumber", "routingnumber", "bankaccount", "sortcode"), FINANCIAL),
    **dict.fromkeys(("email", "phone", "telephone", "phonenumber", "emailaddress"), CONTACT),
}  # fmt: skip
_SENSITIVE_PAIRS: dict[tuple[str, str], str] = {
    **dict.fromkeys(
        (
            ("api", "key"), ("private", "key"), ("secret", "key"), ("access", "key"), ("ssh", "key"),
            ("signing", "key"), ("encryption", "key"), ("client", "secret"),
        ),
        CREDENTIAL,
    ),
    **dict.fromkeys(
        (
            ("social", "security"), ("credit", "card"), ("card", "number"), ("of", "birth"),
            ("birth", "date"), ("tax", "id"), ("national", "id"), ("driver", "license"),
            ("medical", "record"), ("health", "record"),
        ),
        PII,
    ),
    **dict.fromkeys(
        (
            ("account", "number"), ("bank", "account"), ("routing", "number"), ("sort", "code"),
            ("swift", "code"), ("acct", "number"),
        ),
        FINANCIAL,
    ),
    **dict.fromkeys((("home", "address"), ("street", "address")), CONTACT),
}  # fmt: skip
#: "token" is a credential, except in pagination and model-usage names (`nextPageToken`, `maxTokens`).
_ORDINARY_TOKEN_NEIGHBOURS = frozenset(
    {
        "page", "next", "continuation", "cursor", "max", "total", "input", "output", "prompt",
        "completion", "count", "usage", "sync", "csrf", "num", "limit", "used", "remaining",
    }
)  # fmt: skip
#: Words too common to be worth a look on their own; the other word of their pair is looked for instead.
_COMMON = frozenset({"id", "number", "date", "code", "of"})
#: Any sensitive name contains one of these (in lower case), so names without one need no closer look.
SENSITIVE_HINTS: tuple[bytes, ...] = tuple(
    sorted(
        word.encode()
        for word in {*_SENSITIVE_WORDS, "token", *(word for pair in _SENSITIVE_PAIRS for word in pair)} - _COMMON
    )
)
#: Strings longer than this are prose or data, not field names.
_MAX_NAME_CHARS = 200


def words(text: str, *, singular: bool = True) -> tuple[str, ...]:
    """Lower-case words of a name; with `singular`, a plural `s` is dropped (`passwords` → `password`).

    Tool verbs are matched as written: `getPosts` reads posts, it does not post.
    """
    out = []
    for word in _WORD.findall(text):
        word = word.lower()
        if singular and len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return tuple(out)


@lru_cache(maxsize=8192)
def sensitive_classes(text: str) -> frozenset[str]:
    """The sensitive-field classes a name mentions (credential, pii, financial, contact)."""
    if len(text) > _MAX_NAME_CHARS:
        return frozenset()
    found: set[str] = set()
    ws = words(text)
    for index, word in enumerate(ws):
        cls = _SENSITIVE_WORDS.get(word)
        if cls is not None:
            found.add(cls)
        elif word == "token":
            neighbours = ws[max(0, index - 1) : index] + ws[index + 1 : index + 2]
            if not _ORDINARY_TOKEN_NEIGHBOURS.intersection(neighbours):
                found.add(CREDENTIAL)
        if index:
            cls = _SENSITIVE_PAIRS.get((ws[index - 1], word))
            if cls is not None:
                found.add(cls)
    return frozenset(found)


def normal_key(text: str) -> str:
    """An argument key compared loosely: `max_results`, `maxResults` and `"MaxResults"` are one key."""
    return text.strip("'\"`").replace("_", "").replace("-", "").lower()


@dataclass(frozen=True)
class ToolKind:
    """What a tool's name says it does."""

    read: bool
    collection: bool
    search: bool
    send: bool
    external: bool
    delete: bool
    mass_delete: bool
    bulk_strong: bool
    bulk_weak: bool
    sensitive: frozenset[str]
    """Sensitive classes the name itself mentions (`secrets:get`); contact words here are channels."""


@lru_cache(maxsize=4096)
def classify_tool(name: str) -> ToolKind:
    ws = frozenset(words(name, singular=False))
    read = bool(ws & READ)
    return ToolKind(
        read=read,
        collection=read and bool(ws & COLLECTION),
        search=bool(ws & SEARCH),
        send=bool(ws & SEND) or (bool(ws) and ws <= CHANNEL),
        external=bool(ws & EXTERNAL),
        delete=bool(ws & DELETE),
        mass_delete=bool(ws & MASS_DELETE),
        bulk_strong=bool(ws & BULK_STRONG),
        bulk_weak=bool(ws & BULK_WEAK),
        sensitive=sensitive_classes(name) - {CONTACT},
    )
