"""`policydsl lsp` over a real stdio session: initialize, didOpen with a broken file → publishDiagnostics,
didChange, definition (in the file and in an import), hover with a fact's type and citation."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from policydsl.lsp import check_text, word_at

TIMEOUT = 30


class Client:
    """A minimal LSP client: Content-Length framed JSON-RPC over the server's stdin/stdout."""

    def __init__(self, cwd: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "policydsl.cli", "lsp"], cwd=cwd,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages: queue.Queue = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.decode("ascii").strip()
                if not line:
                    break
                name, value = line.split(":", 1)
                headers[name.lower()] = value.strip()
            body = out.read(int(headers["content-length"]))
            self.messages.put(json.loads(body))

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}, ensure_ascii=False).encode("utf-8")
        self.proc.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: dict) -> dict:
        self.next_id += 1
        rid = self.next_id
        self.send({"id": rid, "method": method, "params": params})
        return self.wait(lambda m: m.get("id") == rid and "method" not in m)

    def wait(self, match) -> dict:
        while True:
            message = self.messages.get(timeout=TIMEOUT)
            if match(message):
                return message

    def diagnostics(self, uri: str) -> list[dict]:
        msg = self.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                        and m["params"]["uri"] == uri)
        return msg["params"]["diagnostics"]

    def close(self) -> None:
        try:
            self.request("shutdown", {})
            self.notify("exit", {})
            self.proc.wait(timeout=TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.stdout.close()
            self.proc.stdin.close()
            self.proc.stderr.close()


BASE = textwrap.dedent("""\
    record 人 { 年龄: int, 工龄: int }
    param 每年补贴: money = 100 元  source "第三条: 每满一年补贴100元"
""")

GOOD = textwrap.dedent("""\
    import "base.policy"
    policy 补贴 "subsidy"
    fact 年数: int = min(工龄, 30)
      source "第二条: 工龄最多计30年"
      assumed "30 is a cap we chose"
    outcome 补贴: money = 年数 * 每年补贴
""")

BROKEN = GOOD.replace("fact 年数: int = min(工龄, 30)", "fact 年数: int = min(工龄 30)")


@pytest.fixture
def client(tmp_path):
    (tmp_path / "base.policy").write_text(BASE, encoding="utf-8")
    c = Client(tmp_path)
    try:
        reply = c.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
        caps = reply["result"]["capabilities"]
        assert caps.get("definitionProvider") and caps.get("hoverProvider")
        c.notify("initialized", {})
        yield c
    finally:
        c.close()


def test_stdio_session(client, tmp_path):
    path = tmp_path / "subsidy.policy"
    path.write_text("# not what the editor shows\n", encoding="utf-8")   # the server checks the editor's text
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "policydsl", "version": 1,
                                                            "text": BROKEN}})
    diags = client.diagnostics(uri)
    assert len(diags) >= 1
    first = diags[0]
    assert first["severity"] == 1 and first["source"] == "policydsl"
    assert first["range"]["start"]["line"] == 2          # line 3 of the file, where the comma is missing
    assert "expected" in first["message"] or "unexpected" in first["message"]

    # the drafter fixes it: the diagnostics go away
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": GOOD}]})
    assert client.diagnostics(uri) == []

    # 年数 on the outcome line → its fact declaration on line 3
    line = GOOD.splitlines().index("outcome 补贴: money = 年数 * 每年补贴")
    col = GOOD.splitlines()[line].index("年数") + 1
    reply = client.request("textDocument/definition", {"textDocument": {"uri": uri},
                                                       "position": {"line": line, "character": col}})
    locations = reply["result"]
    assert locations[0]["uri"] == uri
    assert locations[0]["range"]["start"] == {"line": 2, "character": 5}
    assert locations[0]["range"]["end"] == {"line": 2, "character": 7}

    # 每年补贴 → the param in the imported file
    col = GOOD.splitlines()[line].index("每年补贴")
    reply = client.request("textDocument/definition", {"textDocument": {"uri": uri},
                                                       "position": {"line": line, "character": col}})
    loc = reply["result"][0]
    assert loc["uri"] == (tmp_path / "base.policy").as_uri()
    assert loc["range"]["start"] == {"line": 1, "character": 6}

    # hover on 年数: type and the source citation
    col = GOOD.splitlines()[line].index("年数")
    reply = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                  "position": {"line": line, "character": col}})
    text = reply["result"]["contents"]["value"]
    assert "fact" in text and "`年数`: `int`" in text
    assert "第二条: 工龄最多计30年" in text and "30 is a cap we chose" in text


def test_check_text_reports_errors_in_the_text_not_the_file(tmp_path):
    (tmp_path / "base.policy").write_text(BASE, encoding="utf-8")
    path = str(tmp_path / "p.policy")
    checked = check_text(path, GOOD.replace("年数 * 每年补贴", "年树 * 每年补贴"))
    assert [d.message for d in checked.diagnostics] == ["undefined name '年树'"]
    assert check_text(path, GOOD).diagnostics == []


def test_word_at():
    assert word_at("fact 年数: int = 工龄", 0, 6) == "年数"
    assert word_at("fact 年数: int = 工龄", 0, 8) is None
    assert word_at("fact 年数: int = 工龄", 0, 9) == "int"


def test_an_error_in_an_imported_file_is_shown_on_the_import_line(tmp_path):
    from policydsl.lsp import check_text, import_anchor, to_lsp
    (tmp_path / "lib.policy").write_text("enum 等次 { 优秀, 称职 }\nfact 坏 = 未定义\n", encoding="utf-8")
    doc = tmp_path / "main.policy"
    text = 'policy m subject R\n\nimport "lib.policy"\nrecord R key id { id: text }\n'
    checked = check_text(str(doc), text)
    foreign = [d for d in checked.diagnostics if d.span.file.endswith("lib.policy")]
    assert foreign and "undefined name '未定义'" in foreign[0].message
    shown = to_lsp(foreign[0], checked.path, import_anchor(checked, foreign[0].span.file))
    assert shown.range.start.line == 2  # 0-based: the `import "lib.policy"` line
    assert "lib.policy:2" in shown.message


def test_a_burst_of_changes_to_a_large_document_is_checked_once(client, tmp_path):
    """Typing in a large document is not checked at every keystroke: the last text, once the changes pause."""
    from policydsl.lsp import DEBOUNCE_CHARACTERS

    uri = (tmp_path / "large.policy").as_uri()
    padding = "#" + " " * DEBOUNCE_CHARACTERS + "\n"  # a comment: large, and still the same policy
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "policydsl", "version": 1,
                                                            "text": padding + GOOD}})
    assert client.diagnostics(uri) == []
    for version in range(2, 7):  # five quick edits; only the last is broken
        text = padding + (BROKEN if version == 6 else GOOD.replace("30", str(30 + version)))
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                 "contentChanges": [{"text": text}]})
    published = client.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                            and m["params"]["uri"] == uri)
    assert published["params"]["version"] == 6 and published["params"]["diagnostics"]
    assert client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                 "position": {"line": 0, "character": 0}})["result"] is None
    assert all(m.get("method") != "textDocument/publishDiagnostics" for m in list(client.messages.queue))
