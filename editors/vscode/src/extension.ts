// Entry point: starts extexify-lsp for LaTeX documents and registers "extexify: Draw a symbol" and
// "extexify: Taught symbols".
import * as vscode from "vscode";

import { DrawPanel } from "./drawPanel";
import { Server } from "./server";
import { showTaughtSymbols } from "./taughtCommand";

let server: Server | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel("extexify", { log: true });
  const activeServer = new Server(output);
  server = activeServer;
  const drawPanel = new DrawPanel(context.extensionUri, () => activeServer.state, output);
  context.subscriptions.push(
    output,
    activeServer,
    drawPanel,
    activeServer.onDidChange(() => drawPanel.serverChanged()),
    vscode.commands.registerCommand("extexify.draw", () => drawPanel.show()),
    vscode.commands.registerCommand("extexify.taught", () => showTaughtSymbols(() => activeServer.state)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("extexify.server")) {
        void activeServer.restart();
      }
    }),
  );
  // Not awaited: the draw command works at once and the pad shows the server's state until it is up.
  void activeServer.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
