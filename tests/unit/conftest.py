"""Unit-test helpers: an in-memory list checker (the pipeline's `ListChecker` port) and a
recording transport (the router's `Send`)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

import pytest

from antifraud.lists import EntryType, ListEntry, ListName, ListStatus


class RecordingSend:
    """The router's transport in tests: keeps what was sent; every send is delivered at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes]] = []

    async def __call__(self, topic: str, key: bytes | None, value: bytes) -> asyncio.Future[None]:
        self.sent.append((topic, key, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class StaticLists:
    """Exact-match lists held in memory; prefix matching is covered by the Redis adapter's tests."""

    def __init__(self, entries: Collection[ListEntry] = ()) -> None:
        self.entries = list(entries)

    def block(self, value: str, entry_type: EntryType = EntryType.NUMBER) -> None:
        self.entries.append(
            ListEntry(ListName.BLOCK, entry_type, value, "test", "known fraud", 0.0)
        )

    def allow(self, value: str, entry_type: EntryType = EntryType.NUMBER) -> None:
        self.entries.append(ListEntry(ListName.ALLOW, entry_type, value, "test", "official", 0.0))

    async def check(
        self, numbers: Collection[str], accounts: Collection[str], now: float
    ) -> tuple[dict[str, ListStatus], dict[str, ListStatus]]:
        def status(values: Collection[str], types: set[EntryType]) -> dict[str, ListStatus]:
            found: dict[str, ListStatus] = {}
            for value in values:
                blocked = next(
                    (
                        e
                        for e in self.entries
                        if e.value == value
                        and e.entry_type in types
                        and e.list_name is ListName.BLOCK
                    ),
                    None,
                )
                allowed = next(
                    (
                        e
                        for e in self.entries
                        if e.value == value
                        and e.entry_type in types
                        and e.list_name is ListName.ALLOW
                    ),
                    None,
                )
                if blocked or allowed:
                    found[value] = ListStatus(blocked=blocked, allowed=allowed)
            return found

        return status(numbers, {EntryType.NUMBER}), status(accounts, {EntryType.ACCOUNT})


@pytest.fixture()
def static_lists() -> StaticLists:
    return StaticLists()
