// The messages between the pad's webview and the extension host, and the pure logic on either side of them.
// Nothing here imports `vscode` or the DOM, so the unit tests run it under plain node.
import { PendingRequests } from "../../pad/src/client/requests";
import type { CompletionItem, CompletionList, NewSymbol, Position, Stroke, TextEdit } from "../../pad/src/protocol";

/** Glyph images by symbol id: `data:` URIs, null where the server has none. */
export type Glyphs = Record<string, string | null>;

/** Webview -> extension host. */
export type WebviewMessage =
  | { type: "ready" }
  | { type: "recognize"; id: number; strokes: Stroke[] }
  | { type: "cancel"; id: number }
  | { type: "glyphs"; id: number; symbolIds: string[] }
  /** Teach the strokes as `symbol`: answered with the item inserting it ("taught") or an error. */
  | { type: "teach"; id: number; strokes: Stroke[]; symbol: NewSymbol }
  | { type: "choose"; item: CompletionItem };

/** Extension host -> webview. */
export type HostMessage =
  | { type: "result"; id: number; list: CompletionList }
  | { type: "glyphs"; id: number; glyphs: Glyphs }
  | { type: "taught"; id: number; item: CompletionItem }
  /** A recognize, glyphs or teach request failed. */
  | { type: "error"; id: number; message: string }
  /** The server's state changed: `message` is shown on the pad (null hides it), `refresh` re-recognizes. */
  | { type: "status"; message: string | null; refresh: boolean }
  /** The chosen candidate went into the editor. */
  | { type: "inserted" };

/** A message from the webview that does not follow the protocol (a bug in the webview, not user input). */
export class MessageError extends Error {
  override name = "MessageError";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function requestId(message: Record<string, unknown>): number {
  const id = message.id;
  if (typeof id !== "number" || !Number.isSafeInteger(id)) {
    throw new MessageError(`'${String(message.type)}' needs an integer 'id', got ${JSON.stringify(id)}`);
  }
  return id;
}

/** Checks the shape of a message posted by the webview; throws `MessageError` saying what is wrong. */
export function parseWebviewMessage(raw: unknown): WebviewMessage {
  if (!isObject(raw) || typeof raw.type !== "string") {
    throw new MessageError(`a webview message is an object with a string 'type', got ${JSON.stringify(raw)}`);
  }
  switch (raw.type) {
    case "ready":
      return { type: "ready" };
    case "recognize":
      // The points themselves are validated by the server, which answers bad ones with a readable error.
      if (!Array.isArray(raw.strokes)) {
        throw new MessageError("'recognize' needs 'strokes', an array of strokes");
      }
      return { type: "recognize", id: requestId(raw), strokes: raw.strokes as Stroke[] };
    case "cancel":
      return { type: "cancel", id: requestId(raw) };
    case "glyphs": {
      const ids = raw.symbolIds;
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) {
        throw new MessageError("'glyphs' needs 'symbolIds', an array of strings");
      }
      return { type: "glyphs", id: requestId(raw), symbolIds: ids };
    }
    case "teach": {
      // The command and package are validated by the server, which answers bad ones with a readable error.
      const symbol = raw.symbol;
      if (!Array.isArray(raw.strokes) || !isObject(symbol) || typeof symbol.command !== "string") {
        throw new MessageError("'teach' needs 'strokes', an array, and 'symbol', an object with a string 'command'");
      }
      return {
        type: "teach",
        id: requestId(raw),
        strokes: raw.strokes as Stroke[],
        symbol: symbol as unknown as NewSymbol,
      };
    }
    case "choose": {
      const item = raw.item;
      if (!isObject(item) || typeof item.label !== "string" || !isObject(item.data)) {
        throw new MessageError("'choose' needs 'item', a completion item with a 'label' and 'data'");
      }
      return { type: "choose", item: item as unknown as CompletionItem };
    }
    default:
      throw new MessageError(`unknown webview message type '${raw.type}'`);
  }
}

/** What the extension host does for the webview; `drawPanel.ts` implements it with VS Code and the client. */
export interface HostActions {
  recognize(strokes: Stroke[], signal: AbortSignal): Promise<CompletionList>;
  glyphs(symbolIds: string[]): Promise<Glyphs>;
  /** Teach the strokes as `symbol` and answer the item inserting it. */
  teach(strokes: Stroke[], symbol: NewSymbol): Promise<CompletionItem>;
  choose(item: CompletionItem): Promise<void>;
  ready(): void;
  post(message: HostMessage): void;
  /** A protocol violation by the webview, for the log. */
  reportError(error: Error): void;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The extension host's side: answers recognize requests, one at a time.
 *
 * A new request supersedes the ones still in flight (the pad only wants the answer for its latest strokes),
 * and a cancelled or superseded request gets no answer at all: the webview stopped waiting for it.
 * Glyph requests are answered independently.
 */
export function createHostHandler(actions: HostActions): {
  handle(raw: unknown): Promise<void>;
  cancelAll(): void;
} {
  const inFlight = new Map<number, AbortController>();

  function cancelAll(): void {
    for (const controller of inFlight.values()) {
      controller.abort();
    }
    inFlight.clear();
  }

  async function recognize(id: number, strokes: Stroke[]): Promise<void> {
    cancelAll();
    const controller = new AbortController();
    inFlight.set(id, controller);
    try {
      const list = await actions.recognize(strokes, controller.signal);
      if (!controller.signal.aborted) {
        actions.post({ type: "result", id, list });
      }
    } catch (error) {
      if (!controller.signal.aborted) {
        actions.post({ type: "error", id, message: errorMessage(error) });
      }
    } finally {
      if (inFlight.get(id) === controller) {
        inFlight.delete(id);
      }
    }
  }

  async function glyphs(id: number, symbolIds: string[]): Promise<void> {
    try {
      actions.post({ type: "glyphs", id, glyphs: await actions.glyphs(symbolIds) });
    } catch (error) {
      actions.post({ type: "error", id, message: errorMessage(error) });
    }
  }

  async function teach(id: number, strokes: Stroke[], symbol: NewSymbol): Promise<void> {
    try {
      actions.post({ type: "taught", id, item: await actions.teach(strokes, symbol) });
    } catch (error) {
      actions.post({ type: "error", id, message: errorMessage(error) });
    }
  }

  async function handle(raw: unknown): Promise<void> {
    let message: WebviewMessage;
    try {
      message = parseWebviewMessage(raw);
    } catch (error) {
      actions.reportError(error as Error);
      return;
    }
    switch (message.type) {
      case "ready":
        actions.ready();
        return;
      case "recognize":
        return recognize(message.id, message.strokes);
      case "cancel":
        inFlight.get(message.id)?.abort();
        inFlight.delete(message.id);
        return;
      case "glyphs":
        return glyphs(message.id, message.symbolIds);
      case "teach":
        return teach(message.id, message.strokes, message.symbol);
      case "choose":
        return actions.choose(message.item);
    }
  }

  return { handle, cancelAll };
}

/** A request the webview sends, before it is given its id. */
type Unnumbered<M> = M extends { id: number } ? Omit<M, "id"> : never;

/**
 * The webview's side: turns the pad's `recognize(strokes, signal)` and `glyphs(symbolIds)` calls into messages
 * and resolves them from the host's answers. Aborting a recognize call tells the host to cancel it.
 */
export function createHostClient(post: (message: WebviewMessage) => void): {
  recognize(strokes: Stroke[], signal: AbortSignal): Promise<CompletionList>;
  glyphs(symbolIds: string[]): Promise<Glyphs>;
  teach(strokes: Stroke[], symbol: NewSymbol): Promise<CompletionItem>;
  receive(message: HostMessage): void;
} {
  // One id sequence for every kind of request; an answer of another kind is a host bug and rejects.
  const pending = new PendingRequests<HostMessage>();

  function send(message: Unnumbered<WebviewMessage>, signal?: AbortSignal): Promise<HostMessage> {
    return pending.start((id) => post({ ...message, id } as WebviewMessage), {
      signal,
      cancel: (id) => post({ type: "cancel", id }),
    });
  }

  async function recognize(strokes: Stroke[], signal: AbortSignal): Promise<CompletionList> {
    const answer = await send({ type: "recognize", strokes }, signal);
    if (answer.type !== "result") {
      throw new Error(`the host answered a recognize request with '${answer.type}'`);
    }
    return answer.list;
  }

  async function glyphs(symbolIds: string[]): Promise<Glyphs> {
    const answer = await send({ type: "glyphs", symbolIds });
    if (answer.type !== "glyphs") {
      throw new Error(`the host answered a glyphs request with '${answer.type}'`);
    }
    return answer.glyphs;
  }

  async function teach(strokes: Stroke[], symbol: NewSymbol): Promise<CompletionItem> {
    const answer = await send({ type: "teach", strokes, symbol });
    if (answer.type !== "taught") {
      throw new Error(`the host answered a teach request with '${answer.type}'`);
    }
    return answer.item;
  }

  function receive(message: HostMessage): void {
    if (message.type !== "result" && message.type !== "glyphs" && message.type !== "taught" && message.type !== "error") {
      return;
    }
    if (message.type === "error") {
      pending.reject(message.id, new Error(message.message));
    } else {
      pending.resolve(message.id, message);
    }
  }

  return { recognize, glyphs, teach, receive };
}

/** The edits that insert `item` at `cursor`: the server's `textEdit` (else the bare command) and the rest. */
export function editsForItem(item: CompletionItem, cursor: Position): { main: TextEdit; additional: TextEdit[] } {
  const main = item.textEdit ?? { range: { start: cursor, end: cursor }, newText: item.label };
  return { main, additional: item.additionalTextEdits ?? [] };
}

function comparePositions(a: Position, b: Position): number {
  return a.line - b.line || a.character - b.character;
}

/** Where `text` ends when inserted at `start`. */
function endOfInsertion(start: Position, text: string): Position {
  const lines = text.split("\n");
  const last = lines[lines.length - 1];
  return lines.length === 1
    ? { line: start.line, character: start.character + last.length }
    : { line: start.line + lines.length - 1, character: last.length };
}

/** Where `position` moves when `edit`, which lies entirely before it, is applied. */
function shiftPosition(position: Position, edit: TextEdit): Position {
  const newEnd = endOfInsertion(edit.range.start, edit.newText);
  if (position.line === edit.range.end.line) {
    return { line: newEnd.line, character: newEnd.character + position.character - edit.range.end.character };
  }
  return { line: position.line + newEnd.line - edit.range.end.line, character: position.character };
}

/**
 * Where the cursor belongs once `main` and `additional` are applied together (positions refer to the
 * document before the edits, as in LSP): right after the text `main` inserted.
 */
export function cursorAfterEdits(main: TextEdit, additional: TextEdit[]): Position {
  const before = additional
    .filter((edit) => comparePositions(edit.range.end, main.range.start) <= 0)
    // Latest first, so that each edit's own positions are still those of the original document.
    .sort((a, b) => comparePositions(b.range.start, a.range.start));
  let start = main.range.start;
  for (const edit of before) {
    start = shiftPosition(start, edit);
  }
  return endOfInsertion(start, main.newText);
}
