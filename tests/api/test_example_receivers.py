"""The receivers docs/webhooks.md shows (docs/examples/receiver.py and receiver.mjs) verify
what cmgraph sends, with the Standard Webhooks libraries of their languages, and refuse a
message signed with another secret. The Node one runs when node and npm are there."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from receiver import free_port

from cmgraph.services import signing
from tests.support import Api

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
CREATE = """mutation($url: String!) { createWebhookEndpoint(input: {url: $url,
  eventTypes: ["client.created"]}) { secret webhookEndpoint { id } userErrors { code } } }"""
TEST = """mutation($id: ID!) { sendTestWebhook(input: {id: $id}) {
  delivery { status messageId attempts { statusCode error } } userErrors { code } } }"""


@contextlib.contextmanager
def running(
    command: list[str], secret: str, port: int, cwd: Path
) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "WEBHOOK_SECRET": secret, "PORT": str(port)}
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("listening on"), "the receiver did not start"
        yield process
    finally:
        process.kill()
        process.wait()


async def check(api: Api, command: list[str], cwd: Path) -> None:
    port = free_port()
    made = (await api(CREATE, {"url": f"http://127.0.0.1:{port}/"}))["createWebhookEndpoint"]
    hook = made["webhookEndpoint"]["id"]
    with running(command, made["secret"], port, cwd) as receiver:
        sent = (await api(TEST, {"id": hook}))["sendTestWebhook"]["delivery"]
        assert sent["status"] == "SUCCEEDED", sent
        assert receiver.stdout is not None
        line = await asyncio.to_thread(receiver.stdout.readline)
        assert sent["messageId"] in line and "webhook.test" in line
    # Signed with secrets the receiver does not know: refused.
    with running(command, signing.new_secret(), port, cwd):
        refused = (await api(TEST, {"id": hook}))["sendTestWebhook"]["delivery"]
    assert refused["attempts"] == [{"statusCode": 400, "error": "HTTP_STATUS"}]


async def test_the_python_receiver_verifies_what_cmgraph_sends(api: Api) -> None:
    await check(api, [sys.executable, str(EXAMPLES / "receiver.py")], EXAMPLES)


async def test_the_node_receiver_verifies_what_cmgraph_sends(api: Api, tmp_path: Path) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed")
    install = await asyncio.to_thread(
        subprocess.run,
        ["npm", "install", "--no-audit", "--no-fund", "standardwebhooks@1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if install.returncode != 0:
        pytest.skip(f"npm could not install standardwebhooks: {install.stderr[-300:]}")
    shutil.copy(EXAMPLES / "receiver.mjs", tmp_path / "receiver.mjs")
    await check(api, ["node", "receiver.mjs"], tmp_path)
