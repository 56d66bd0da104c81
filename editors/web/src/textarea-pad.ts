// The pad wired to a <textarea> editor and an extexify-lsp WebSocket: the textarea's text is the LSP
// document, recognition asks for edits at its cursor, and a chosen candidate's edits go into it.
import { createPad, type Pad } from "../../pad/src/pad";
import { type CompletionItem, MAX_CANDIDATES, MAX_LIMIT, type Stroke, type TextEdit } from "../../pad/src/protocol";
import { ChoiceError, fitChoice } from "../../pad/src/client/choice";
import { taughtItem } from "../../pad/src/newSymbol";

import { connectLsp, type ConnectionState, type LspClient } from "./lsp-client";
import { applyTextEdits, positionAt } from "./text-edits";

export interface TextareaPadOptions {
  /** The `extexify-lsp --ws` address, e.g. `ws://127.0.0.1:8765`. */
  serverUrl: string;
  /** The URI the textarea's text is known by on the server. */
  documentUri?: string;
  /** Candidates shown (at most 9). */
  limit?: number;
  onStateChange?(state: ConnectionState, detail: string): void;
}

export interface TextareaPad {
  pad: Pad;
  client: LspClient;
  destroy(): void;
}

export function createTextareaPad(
  container: HTMLElement,
  textarea: HTMLTextAreaElement,
  options: TextareaPadOptions,
): TextareaPad {
  const uri = options.documentUri ?? "untitled:extexify-web.tex";
  const limit = options.limit ?? MAX_CANDIDATES;

  // The strokes and editor state the shown candidates were answered for: their edits are stale once the
  // state changes, and asking again must use those strokes (the pad's may have changed since).
  let answeredFor = { strokes: [] as Stroke[], text: textarea.value, cursor: textarea.selectionEnd };

  const recognizeAtCursor = (strokes: Stroke[], count: number, signal?: AbortSignal) =>
    client.recognizeStrokes(
      { strokes, limit: count, textDocument: { uri }, position: positionAt(textarea.value, textarea.selectionEnd) },
      signal,
    );

  const pad = createPad(container, {
    limit,
    async recognize(strokes, signal) {
      const snapshot = { strokes, text: textarea.value, cursor: textarea.selectionEnd };
      const result = await recognizeAtCursor(strokes, limit, signal);
      answeredFor = snapshot;
      return result;
    },
    glyphs: async (symbolIds) => (await client.glyphs(symbolIds)).glyphs,
    async teach(strokes, symbol) {
      const result = await client.teach({ strokes, symbol });
      // Recognized again at the cursor: the server's item for the new symbol carries its \usepackage line.
      const snapshot = { strokes, text: textarea.value, cursor: textarea.selectionEnd };
      const list = await recognizeAtCursor(strokes, MAX_LIMIT).catch(() => ({ items: [] }));
      answeredFor = snapshot;
      return taughtItem(result, symbol, list.items);
    },
    onChoose: (item) => void choose(item),
  });

  const client = connectLsp({
    url: options.serverUrl,
    onStateChange(state, detail) {
      if (state === "ready") {
        pad.setError(null);
        pad.refresh();
      } else if (state === "disconnected") {
        pad.setError(detail);
      }
      options.onStateChange?.(state, detail);
    },
  });
  client.openDocument(uri, "latex", textarea.value);

  async function choose(item: CompletionItem): Promise<void> {
    let fitted: CompletionItem;
    try {
      fitted = await fitChoice(item, answeredFor.strokes, {
        stillFits: () => textarea.value === answeredFor.text && textarea.selectionEnd === answeredFor.cursor,
        recognizeHere: (strokes, count) => recognizeAtCursor(strokes, count),
      });
    } catch (error) {
      if (!(error instanceof ChoiceError)) throw error;
      pad.setError(error.message);
      return;
    }
    insert(fitted);
    // Recording the choice only helps later drawings: a failure is not the user's concern.
    if (fitted.command) client.executeCommand(fitted.command).catch(() => undefined);
  }

  function insert(item: CompletionItem): void {
    // Without a document on the server there are no edits: insert the bare command at the cursor.
    const main: TextEdit = item.textEdit ?? {
      range: {
        start: positionAt(textarea.value, textarea.selectionStart),
        end: positionAt(textarea.value, textarea.selectionEnd),
      },
      newText: item.label,
    };
    const { text, cursor } = applyTextEdits(textarea.value, [main, ...(item.additionalTextEdits ?? [])]);
    textarea.value = text;
    textarea.setSelectionRange(cursor, cursor);
    textarea.focus();
    client.changeDocument(uri, text);
  }

  const onInput = () => client.changeDocument(uri, textarea.value);
  textarea.addEventListener("input", onInput);

  return {
    pad,
    client,
    destroy() {
      textarea.removeEventListener("input", onInput);
      pad.destroy();
      client.close();
    },
  };
}
