// "extexify: Taught symbols": lists the symbols in the user's sample store (extexify/taught) and forgets the
// one picked (extexify/forget) once the user confirms.
import * as vscode from "vscode";

import {
  FORGET,
  type ForgetParams,
  type ForgetResult,
  TAUGHT,
  type TaughtResult,
} from "../../pad/src/protocol";
import type { ServerState } from "./server";
import { forgetQuestion, taughtEntries } from "./taught";

export async function showTaughtSymbols(server: () => ServerState): Promise<void> {
  const state = server();
  if (!state.client) {
    void vscode.window.showErrorMessage(`extexify: ${state.problem}`);
    return;
  }
  const client = state.client;
  let result: TaughtResult;
  try {
    result = await client.sendRequest<TaughtResult>(TAUGHT, {});
  } catch (error) {
    void vscode.window.showErrorMessage(`extexify: cannot list the taught symbols: ${message(error)}`);
    return;
  }
  if (result.symbols.length === 0) {
    void vscode.window.showInformationMessage(
      "extexify: nothing taught yet. Draw a symbol, then use “Not listed? Teach it” on the pad or pick a candidate.",
    );
    return;
  }
  const picked = await vscode.window.showQuickPick(taughtEntries(result.symbols), {
    title: "Taught symbols",
    placeHolder: "Pick a symbol to forget its samples",
    matchOnDescription: true,
  });
  if (!picked) return;
  const forget = "Forget";
  const answer = await vscode.window.showWarningMessage(forgetQuestion(picked.symbol), { modal: true }, forget);
  if (answer !== forget) return;
  try {
    const params: ForgetParams = { symbolId: picked.symbol.symbolId };
    const { removed } = await client.sendRequest<ForgetResult>(FORGET, params);
    void vscode.window.showInformationMessage(
      `extexify: forgot ${picked.symbol.command} (${removed} ${removed === 1 ? "sample" : "samples"} removed).`,
    );
  } catch (error) {
    void vscode.window.showErrorMessage(`extexify: could not forget ${picked.symbol.command}: ${message(error)}`);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
