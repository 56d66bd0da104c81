// Teaching a symbol, the parts without a DOM: checking the command and package as the server does, and the
// item that inserts the taught symbol. Shared by the pad's form and its hosts.
import {
  COMMAND_PATTERN,
  type CompletionItem,
  MAX_NAME,
  type NewSymbol,
  PACKAGE_PATTERN,
  type TeachResult,
} from "./protocol";
import { findVariant } from "./variants";

/** Why `command` cannot be taught, or null when it can. */
export function commandProblem(command: string): string | null {
  if (command === "") return "Type the command, e.g. \\mycirc";
  if (!command.startsWith("\\")) return `A command starts with a backslash: \\${command}`;
  if (command.length > MAX_NAME) return `At most ${MAX_NAME} characters`;
  if (!COMMAND_PATTERN.test(command)) {
    return "A command is a backslash and letters (\\mycirc) or a backslash and one other character (\\{)";
  }
  return null;
}

/** Why `name` cannot be a package name, or null when it can (empty: no package). */
export function packageProblem(name: string): string | null {
  if (name === "") return null;
  if (name.length > MAX_NAME) return `At most ${MAX_NAME} characters`;
  if (!PACKAGE_PATTERN.test(name)) return "A package name is letters, digits, '-' and '_' (e.g. stmaryrd)";
  return null;
}

/**
 * The item that inserts a just-taught symbol: the server's own item for it among `items` (recognized again
 * for the same strokes at the cursor, so its edits add the `\usepackage` line), else the bare command.
 * Without its `command`: teaching already stored the drawing, recording it as a choice would store it twice.
 */
export function taughtItem(result: TeachResult, symbol: NewSymbol, items: readonly CompletionItem[]): CompletionItem {
  const found = findVariant(items, result.symbolId);
  if (found) {
    const item = { ...found };
    delete item.command;
    return item;
  }
  return {
    label: symbol.command,
    data: {
      symbolId: result.symbolId,
      score: 0,
      package: symbol.package ?? null,
      mode: symbol.mode ?? "math",
      unicode: null,
      alternatives: [],
    },
  };
}
