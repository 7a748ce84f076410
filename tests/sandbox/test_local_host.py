"""The local Functions host: a stopped host processes nothing more, not even a retry it had
scheduled, so one sandbox's leftovers never run (and log) inside whatever the process runs next."""

from __future__ import annotations

import threading

import azure.functions as func

from sandbox.local_host import LocalHost


def failing_app(attempts: list[int], tried: threading.Event) -> func.FunctionApp:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="msg", queue_name="work", connection="AzureWebJobsStorage")
    def work(msg: func.QueueMessage) -> None:
        attempts.append(msg.dequeue_count)
        tried.set()
        raise RuntimeError("transient")

    return app


def test_a_stopped_host_runs_no_scheduled_retry() -> None:
    attempts: list[int] = []
    tried = threading.Event()
    host = LocalHost(failing_app(attempts, tried), retry_delay_s=0.3, max_dequeue_count=5)
    host.enqueue("work", "m")
    assert tried.wait(5)
    host.stop()
    stopped_with = list(attempts)
    threading.Event().wait(1.0)  # more than three retry delays
    assert stopped_with == [1] and attempts == stopped_with


def test_a_running_host_retries_until_the_message_is_poisoned() -> None:
    attempts: list[int] = []
    host = LocalHost(failing_app(attempts, threading.Event()), retry_delay_s=0.01, max_dequeue_count=3)
    host.enqueue("work", "m")
    host.drain(timeout_s=10)
    host.stop()
    assert attempts == [1, 2, 3] and host.poison == {"work-poison": ["m"]}
