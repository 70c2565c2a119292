"""Hostile editor traffic (issue 15): bad Content-Length headers and huge documents; the server keeps serving."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading

import pytest
from hostile_support import SRC, _limits

TIMEOUT = 60


def _frame(message: dict) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", **message}, ensure_ascii=False).encode("utf-8")
    return f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body


class Server:
    """`policydsl lsp` under the memory limit, with its replies collected by a thread."""

    def __init__(self, cwd):
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        self.proc = subprocess.Popen([sys.executable, "-m", "policydsl.cli", "lsp"], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     preexec_fn=_limits)
        self.replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                if not line.strip():
                    break
            self.replies.put(json.loads(out.read(length)))

    def send(self, raw: bytes) -> None:
        self.proc.stdin.write(raw)
        self.proc.stdin.flush()

    def reply_to(self, rid: int) -> dict:
        while True:
            message = self.replies.get(timeout=TIMEOUT)
            if message.get("id") == rid and "method" not in message:
                return message

    def diagnostics(self, uri: str) -> list:
        while True:
            message = self.replies.get(timeout=TIMEOUT)
            if message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri:
                return message["params"]["diagnostics"]

    def close(self) -> None:
        try:
            self.send(_frame({"id": 999, "method": "shutdown"}) + _frame({"method": "exit"}))
            self.proc.wait(timeout=TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                stream.close()


@pytest.mark.parametrize("header", [b"Content-Length: -5", b"Content-Length: abc", b"Content-Length: 99999999999"])
def test_a_bad_header_is_skipped_and_the_server_keeps_answering(tmp_path, header):
    server = Server(tmp_path)
    try:
        bad = header + b"\r\n\r\n" + b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}'
        server.send(bad)
        server.send(_frame({"id": 2, "method": "initialize", "params": {"processId": None, "capabilities": {},
                                                                      "rootUri": tmp_path.as_uri()}}))
        assert "capabilities" in server.reply_to(2)["result"]
    finally:
        server.close()


def test_a_5_mb_document_gets_one_diagnostic_quickly(tmp_path):
    server = Server(tmp_path)
    try:
        server.send(_frame({"id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {},
                                                                      "rootUri": tmp_path.as_uri()}}))
        server.reply_to(1)
        server.send(_frame({"method": "initialized", "params": {}}))
        uri = (tmp_path / "big.policy").as_uri()
        text = "param p: int = 1\n" * 300_000
        server.send(_frame({"method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "policydsl", "version": 1, "text": text}}}))
        found = server.diagnostics(uri)
        assert len(found) == 1 and "larger than the limit" in found[0]["message"]
        server.send(_frame({"id": 3, "method": "textDocument/hover", "params": {
            "textDocument": {"uri": uri}, "position": {"line": 0, "character": 7}}}))
        reply = server.reply_to(3)  # still serving after refusing the document
        assert "result" in reply or "error" in reply
    finally:
        server.close()
