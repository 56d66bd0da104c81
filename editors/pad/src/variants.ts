// The variants of a recognized item: its label and the other members of its draw-alike group, each a
// completion item that inserts with its own edits. Pure functions, shared by the pad and its hosts.
import type { Alternative, CompletionItem, SymbolData } from "./protocol";

const MODE_NAMES: Record<SymbolData["mode"], string> = { math: "math", text: "text", both: "math or text" };

/** The item itself, then each of its alternatives as an item of its own (with no alternatives). */
export function variantsOf(item: CompletionItem): CompletionItem[] {
  return [item, ...(item.data.alternatives ?? []).map(alternativeItem)];
}

function alternativeItem(alternative: Alternative): CompletionItem {
  const { label, textEdit, additionalTextEdits, command, ...data } = alternative;
  const item: CompletionItem = { label, data: { ...data, alternatives: [] } };
  if (textEdit) item.textEdit = textEdit;
  if (additionalTextEdits) item.additionalTextEdits = additionalTextEdits;
  if (command) item.command = command;
  return item;
}

/** The variant for `symbolId` among `items` and their alternatives. */
export function findVariant(items: readonly CompletionItem[], symbolId: string): CompletionItem | undefined {
  for (const item of items) {
    const variant = variantsOf(item).find((candidate) => candidate.data.symbolId === symbolId);
    if (variant) return variant;
  }
  return undefined;
}

/** `item.detail`, else the server's wording from its data: e.g. `amssymb · math mode`. */
export function describe(item: CompletionItem): string {
  return item.detail ?? [item.data.package ?? "core LaTeX", `${MODE_NAMES[item.data.mode]} mode`].join(" · ");
}

/** The index `step` places from `index` among `count` variants, wrapping around. */
export function cycle(index: number, step: number, count: number): number {
  return count > 0 ? (((index + step) % count) + count) % count : 0;
}
