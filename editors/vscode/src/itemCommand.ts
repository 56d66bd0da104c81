// An inserted item's `command` (extexify.recordChoice: the server stores the drawing as a sample of the
// chosen symbol), run on the server through `workspace/executeCommand`.
import type * as vscode from "vscode";

import type { Command } from "../../pad/src/protocol";
import type { ServerState } from "./server";

/** Runs `command` on the server; failures only go to the log: the symbol is inserted all the same. */
export async function runItemCommand(
  state: ServerState,
  command: Command | undefined,
  output: vscode.LogOutputChannel,
): Promise<void> {
  if (!command || !state.client) return;
  try {
    await state.client.sendRequest("workspace/executeCommand", {
      command: command.command,
      arguments: command.arguments ?? [],
    });
  } catch (error) {
    output.warn(`${command.command} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
