// The "Taught symbols" list as plain data: what the QuickPick shows for each stored symbol and what it asks
// before forgetting one. Nothing here imports `vscode`, so the unit tests run it under plain node.
import type { TaughtSymbol } from "../../pad/src/protocol";

const MODE_NAMES: Record<TaughtSymbol["mode"], string> = { math: "math", text: "text", both: "math or text" };

/** One row of the QuickPick, with the symbol it stands for. */
export interface TaughtEntry {
  label: string;
  description: string;
  detail: string;
  symbol: TaughtSymbol;
}

function samples(count: number): string {
  return count === 1 ? "1 sample" : `${count} samples`;
}

/** The rows: the user's own symbols first, then the model's symbols with stored samples, most samples first. */
export function taughtEntries(symbols: readonly TaughtSymbol[]): TaughtEntry[] {
  return [...symbols]
    .sort((a, b) => Number(b.user) - Number(a.user) || b.samples - a.samples || a.command.localeCompare(b.command))
    .map((symbol) => ({
      label: symbol.command,
      description: [symbol.package ?? "core LaTeX", `${MODE_NAMES[symbol.mode]} mode`].join(" · "),
      detail: `${samples(symbol.samples)} · ${symbol.user ? "taught by you" : "of the model's symbol, from your picks and teaching"}`,
      symbol,
    }));
}

/** The question asked before `extexify/forget`: what goes and what stays. */
export function forgetQuestion(symbol: TaughtSymbol): string {
  const what = `your ${samples(symbol.samples)} of ${symbol.command}`;
  return symbol.user
    ? `Forget ${symbol.command}? ${what[0].toUpperCase()}${what.slice(1)} and the symbol itself are removed from your sample store.`
    : `Forget ${what}? The model still knows ${symbol.command}; only your own drawings of it are removed.`;
}
