// The VS Code client of the kamrules language server: starts `kamrules lsp` (over stdio)
// for every .kam file; diagnostics, hover, definitions, rename, formatting and completion
// all come from the server (kamrules/lsp/ in the Python package).
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("kamrules");
  const server = {
    command: config.get("server.command", "kamrules"),
    args: config.get("server.args", ["lsp"]),
    transport: TransportKind.stdio,
  };
  // hover values: kamrules.data / payee / period, at start and whenever the settings change
  const values = { data: config.get("data", ""), payee: config.get("payee", ""), period: config.get("period", "") };
  client = new LanguageClient("kamrules", "kamrules", server, {
    documentSelector: [{ scheme: "file", language: "kamrules" }, { scheme: "untitled", language: "kamrules" }],
    initializationOptions: { kamrules: values },
    synchronize: { configurationSection: "kamrules" },
  });
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
