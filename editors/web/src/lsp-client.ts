// A small JSON-RPC LSP client over a WebSocket to `extexify-lsp --ws HOST:PORT`: one JSON message per frame.
// It initializes, keeps the host's documents in sync, recognizes strokes, cancels superseded requests and
// reconnects (re-opening the documents) when the server goes away.
import {
  type Command,
  type CompletionList,
  GLYPHS,
  type GlyphsResult,
  RECOGNIZE_STROKES,
  type RecognizeStrokesParams,
  TEACH,
  type TeachParams,
  type TeachResult,
} from "../../pad/src/protocol";
import { PendingRequests } from "../../pad/src/client/requests";
import { type ConnectionState, connectSocket } from "../../pad/src/client/socket";

export type { ConnectionState };

export interface LspClientOptions {
  /** e.g. `ws://127.0.0.1:8765` */
  url: string;
  /** Told about every connection change; `detail` is a message fit for the user. */
  onStateChange?(state: ConnectionState, detail: string): void;
  /** First delay before reconnecting; it doubles up to `maxReconnectDelayMs`. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** A request not answered by then fails (the server may be stuck). */
  requestTimeoutMs?: number;
}

export interface LspClient {
  readonly state: ConnectionState;
  recognizeStrokes(params: RecognizeStrokesParams, signal?: AbortSignal): Promise<CompletionList>;
  /** Glyph images of symbols (`extexify/glyphs`), for those KaTeX cannot typeset. */
  glyphs(symbolIds: string[]): Promise<GlyphsResult>;
  /** Store a drawing as a sample of a symbol (`extexify/teach`). */
  teach(params: TeachParams): Promise<TeachResult>;
  /** Run a server command, e.g. an inserted item's `command` (`workspace/executeCommand`). */
  executeCommand(command: Command): Promise<unknown>;
  /** Register a document with the server; it is re-opened after every reconnect. */
  openDocument(uri: string, languageId: string, text: string): void;
  changeDocument(uri: string, text: string): void;
  closeDocument(uri: string): void;
  /** Shut down and stop reconnecting. */
  close(): void;
}

/** An error answered by the server (JSON-RPC `error`). */
export class LspResponseError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "LspResponseError";
  }
}

/** A JSON-RPC response, or a request or notification from the server. */
interface IncomingMessage {
  id?: number | string | null;
  method?: string;
  result?: unknown;
  error?: { code: number; message: string };
}

interface OpenDocument {
  languageId: string;
  version: number;
  text: string;
}

// JSON-RPC / LSP error codes the client answers server requests with.
const METHOD_NOT_FOUND = -32601;

export function connectLsp(options: LspClientOptions): LspClient {
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const pending = new PendingRequests<unknown>();
  const documents = new Map<string, OpenDocument>();

  const connection = connectSocket({
    url: options.url,
    reconnectDelayMs: options.reconnectDelayMs,
    maxReconnectDelayMs: options.maxReconnectDelayMs,
    onOpen: initialize,
    onMessage: handleMessage,
    onClose: (error) => pending.rejectAll(error),
    onStateChange: options.onStateChange,
  });

  function encode(message: object): string {
    return JSON.stringify({ jsonrpc: "2.0", ...message });
  }

  /** Send if connected: a notification or answer for a connection that is gone is moot (documents are re-opened). */
  function post(message: object): void {
    if (connection.open) connection.send(encode(message));
  }

  /** A request on the open socket (it fails at once without one). */
  function request<T>(method: string, params: unknown, signal?: AbortSignal): Promise<T> {
    return pending.start((id) => connection.send(encode({ id, method, params })), {
      signal,
      cancel: (id) => post({ method: "$/cancelRequest", params: { id } }),
      timeoutMs: requestTimeoutMs,
      timeoutMessage: `extexify-lsp did not answer ${method} within ${requestTimeoutMs} ms`,
    }) as Promise<T>;
  }

  /** A request once initialized; until then (or while disconnected) it fails at once with what the user is told. */
  function requestWhenReady<T>(method: string, params: unknown, signal?: AbortSignal): Promise<T> {
    if (connection.state !== "ready") return Promise.reject(new Error(connection.detail));
    return request<T>(method, params, signal);
  }

  function notify(method: string, params: unknown): void {
    post({ method, params });
  }

  function handleMessage(raw: string): void {
    let message: IncomingMessage;
    try {
      message = JSON.parse(raw);
    } catch {
      console.warn("extexify: ignoring a message that is not JSON", raw);
      return;
    }
    if (message.method === undefined) {
      // No one waits for the answer to a request cancelled or timed out meanwhile.
      const id = Number(message.id);
      if (message.error) pending.reject(id, new LspResponseError(message.error.code, message.error.message));
      else pending.resolve(id, message.result);
    } else if (message.id !== undefined) {
      // A request from the server: this client offers no capabilities that servers may call back into.
      post({ id: message.id, error: { code: METHOD_NOT_FOUND, message: `${message.method} is not supported` } });
    }
  }

  function openOnServer(uri: string, document: OpenDocument): void {
    notify("textDocument/didOpen", {
      textDocument: { uri, languageId: document.languageId, version: document.version, text: document.text },
    });
  }

  async function initialize(): Promise<void> {
    await request("initialize", {
      processId: null,
      clientInfo: { name: "extexify-web" },
      rootUri: null,
      capabilities: {
        general: { positionEncodings: ["utf-16"] },
        textDocument: { synchronization: { dynamicRegistration: false } },
      },
    });
    notify("initialized", {});
    for (const [uri, document] of documents) openOnServer(uri, document);
  }

  return {
    get state() {
      return connection.state;
    },
    recognizeStrokes(params, signal) {
      return requestWhenReady<CompletionList>(RECOGNIZE_STROKES, params, signal);
    },
    glyphs(symbolIds) {
      return requestWhenReady<GlyphsResult>(GLYPHS, { symbolIds });
    },
    teach(params) {
      return requestWhenReady<TeachResult>(TEACH, params);
    },
    executeCommand(command) {
      return requestWhenReady("workspace/executeCommand", {
        command: command.command,
        arguments: command.arguments ?? [],
      });
    },
    openDocument(uri, languageId, text) {
      const document = { languageId, version: 1, text };
      documents.set(uri, document);
      if (connection.state === "ready") openOnServer(uri, document);
    },
    changeDocument(uri, text) {
      const document = documents.get(uri);
      if (!document) throw new Error(`changeDocument: ${uri} was never opened`);
      document.version += 1;
      document.text = text;
      if (connection.state === "ready") {
        notify("textDocument/didChange", {
          textDocument: { uri, version: document.version },
          contentChanges: [{ text }],
        });
      }
    },
    closeDocument(uri) {
      if (documents.delete(uri) && connection.state === "ready") {
        notify("textDocument/didClose", { textDocument: { uri } });
      }
    },
    close() {
      // No shutdown/exit: one server may serve several pages, and `exit` would end its process.
      connection.close();
    },
  };
}
