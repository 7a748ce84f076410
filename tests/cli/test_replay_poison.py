"""`sentry-ado replay-poison` against real Storage queues (Azurite), base64 as the Functions host
reads them: --dry-run lists each message with why it failed, a run moves each one once."""

from __future__ import annotations

import json

import pytest
from azure.storage.queue import QueueClient, TextBase64DecodePolicy

from cli.main import main as cli
from shared.queues import StorageQueues
from shared.runtime import reset, runtime
from shared.status import record


def message(issue_id: int) -> str:
    return json.dumps({"source": "sentry", "resource": "issue", "request_id": None, "body": {
        "action": "created", "data": {"issue": {"id": str(issue_id), "shortId": f"BACKEND-{issue_id}"}}}})


@pytest.fixture
def queues(app_env, azurite_connection: str, monkeypatch: pytest.MonkeyPatch) -> StorageQueues:
    monkeypatch.setenv("AzureWebJobsStorage", azurite_connection)
    reset()  # settings are read again, with the storage
    access = StorageQueues(azurite_connection, None)
    for name in ("sentry-events", "sentry-events-poison", "ado-events-poison"):
        access.put(name, "x")  # makes sure the queue exists, then empties it
        QueueClient.from_connection_string(azurite_connection, name).clear_messages()
    return access


def test_dry_run_lists_with_reasons_and_moves_nothing(queues: StorageQueues, capsys) -> None:
    for i in (1, 2):
        queues.put("sentry-events-poison", message(i))
    record.record_failure(runtime().store, "sentry-events", record.message_digest(message(1)),
                          "AdoError: 401 the PAT expired", summary="issue.created for Sentry issue BACKEND-1")
    assert cli(["replay-poison", "--queue", "sentry-events", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "issue.created for Sentry issue BACKEND-1" in out and "AdoError: 401 the PAT expired" in out
    assert "issue.created for Sentry issue BACKEND-2" in out and "reason not recorded" in out
    assert "2 message(s) would be moved to sentry-events" in out
    assert queues.depth("sentry-events-poison") == 2 and queues.depth("sentry-events") == 0


def test_each_message_is_moved_once_as_the_host_reads_it(queues: StorageQueues, azurite_connection: str,
                                                        capsys) -> None:
    sent = [message(i) for i in (3, 4, 5)]
    for text in sent:
        queues.put("sentry-events-poison", text)
    assert cli(["replay-poison", "--queue", "sentry-events"]) == 0
    assert "3 message(s) moved to sentry-events" in capsys.readouterr().out
    assert queues.depth("sentry-events-poison") == 0
    host_view = QueueClient.from_connection_string(azurite_connection, "sentry-events",
                                                   message_decode_policy=TextBase64DecodePolicy())
    assert sorted(m.content for m in host_view.peek_messages(max_messages=32)) == sorted(sent)
    assert cli(["replay-poison"]) == 0  # nothing left: nothing moved twice
    assert "0 message(s) moved" in capsys.readouterr().out
    assert queues.depth("sentry-events") == 3


def test_without_queue_storage_it_says_what_to_set(app_env, capsys) -> None:
    assert cli(["replay-poison"]) == 2
    assert "set AzureWebJobsStorage" in capsys.readouterr().err
