// Starts `policydsl lsp` (configurable: policydsl.server.command) as the language server for *.policy files.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("policydsl").get("server.command");
  client = new LanguageClient("policydsl", "policydsl", { command, args },
    { documentSelector: [{ scheme: "file", language: "policydsl" }] });
  client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
