"""The sync queues and their poison queues, as the status view and `sentry-ado replay-poison` use them.

The Functions host moves a message that failed ``maxDequeueCount`` times to ``<queue>-poison``
(host.json). In Azure these are Storage queues (`StorageQueues`, base64 text like the host writes);
the local function host (sandbox/local_host.py) keeps them in memory and registers itself with
`use_local`, so `serve --sandbox` shows and replays the same way.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared.contract import ADO_QUEUE, SENTRY_QUEUE

if TYPE_CHECKING:
    from shared.config import Settings

SYNC_QUEUES = (SENTRY_QUEUE, ADO_QUEUE)
POISON_SUFFIX = "-poison"


def poison_of(queue: str) -> str:
    return f"{queue}{POISON_SUFFIX}"


@dataclass(frozen=True)
class QueuedMessage:
    """A message seen in a queue: its text, when it was first enqueued, and what `remove` needs."""

    text: str
    inserted_at: float | None = None
    handle: Any = None


class QueueAccess(Protocol):
    def depth(self, queue: str) -> int: ...

    def peek(self, queue: str, limit: int) -> list[QueuedMessage]: ...

    def take(self, queue: str, limit: int, hide_s: int) -> list[QueuedMessage]:
        """Messages hidden from other readers for ``hide_s`` seconds, until `remove` (or they reappear)."""
        ...

    def put(self, queue: str, text: str) -> None: ...

    def remove(self, queue: str, message: QueuedMessage) -> None: ...


_local: dict[str, QueueAccess | None] = {"access": None}


def use_local(access: QueueAccess | None) -> None:
    """The local function host's in-memory queues stand in for Storage (None to forget them)."""
    _local["access"] = access


def open_queues(settings: Settings) -> QueueAccess | None:
    """The queues the app's storage holds, or None where there is no queue storage to read."""
    if _local["access"] is not None:
        return _local["access"]
    connection = settings.storage_connection.reveal() if settings.storage_connection else None
    if not connection and not settings.storage_account:
        return None
    return StorageQueues(connection, settings.storage_account)


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


class StorageQueues:
    """Azure Storage queues (a connection string locally and on Azurite; the managed identity in Azure)."""

    def __init__(self, connection: str | None, account: str | None) -> None:
        self._connection, self._account = connection, account
        self._credential: Any = None

    def _queue(self, name: str) -> Any:
        """A client per queue: the message encoding is a queue client's setting (a service client's
        queue clients would send raw text, which the host cannot read)."""
        from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

        policies = {"message_encode_policy": TextBase64EncodePolicy(),
                    "message_decode_policy": TextBase64DecodePolicy()}
        if self._connection:
            return QueueClient.from_connection_string(self._connection, name, **policies)
        if self._credential is None:
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential()
        return QueueClient(f"https://{self._account}.queue.core.windows.net", name, credential=self._credential,
                           **policies)

    def depth(self, queue: str) -> int:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return int(self._queue(queue).get_queue_properties().approximate_message_count or 0)
        except ResourceNotFoundError:
            return 0

    def peek(self, queue: str, limit: int) -> list[QueuedMessage]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            found = self._queue(queue).peek_messages(max_messages=max(1, min(limit, 32)))
        except ResourceNotFoundError:
            return []
        return [QueuedMessage(m.content, _epoch(m.inserted_on)) for m in found]

    def take(self, queue: str, limit: int, hide_s: int) -> list[QueuedMessage]:
        from azure.core.exceptions import ResourceNotFoundError

        out: list[QueuedMessage] = []
        try:
            for m in self._queue(queue).receive_messages(messages_per_page=min(limit, 32),
                                                         visibility_timeout=hide_s, max_messages=limit):
                out.append(QueuedMessage(m.content, _epoch(m.inserted_on), (m.id, m.pop_receipt)))
        except ResourceNotFoundError:
            return []
        return out

    def put(self, queue: str, text: str) -> None:
        from azure.core.exceptions import ResourceExistsError

        client = self._queue(queue)
        with contextlib.suppress(ResourceExistsError):
            client.create_queue()
        client.send_message(text)

    def remove(self, queue: str, message: QueuedMessage) -> None:
        message_id, receipt = message.handle
        self._queue(queue).delete_message(message_id, receipt)
