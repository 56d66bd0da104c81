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

export type ConnectionState = "connecting" | "ready" | "disconnected" | "closed";

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
  const firstDelay = options.reconnectDelayMs ?? 500;
  const maxDelay = options.maxReconnectDelayMs ?? 5000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;

  const pending = new PendingRequests<unknown>();
  const documents = new Map<string, OpenDocument>();
  let socket: WebSocket | null = null;
  let state: ConnectionState = "connecting";
  let stateDetail = "";
  let reconnectDelay = firstDelay;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  const decoder = new TextDecoder();

  function setState(next: ConnectionState, detail: string): void {
    state = next;
    stateDetail = detail;
    options.onStateChange?.(next, detail);
  }

  function send(message: object): void {
    socket?.send(JSON.stringify({ jsonrpc: "2.0", ...message }));
  }

  function request<T>(method: string, params: unknown, signal?: AbortSignal): Promise<T> {
    return pending.start((id) => send({ id, method, params }), {
      signal,
      cancel: (id) => send({ method: "$/cancelRequest", params: { id } }),
      timeoutMs: requestTimeoutMs,
      timeoutMessage: `extexify-lsp did not answer ${method} within ${requestTimeoutMs} ms`,
    }) as Promise<T>;
  }

  function notify(method: string, params: unknown): void {
    send({ method, params });
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
      send({ id: message.id, error: { code: METHOD_NOT_FOUND, message: `${message.method} is not supported` } });
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

  function connect(): void {
    setState("connecting", `Connecting to extexify-lsp at ${options.url}…`);
    const ws = new WebSocket(options.url);
    // pygls sends each message as a binary frame of UTF-8 JSON.
    ws.binaryType = "arraybuffer";
    socket = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      initialize().then(
        () => {
          reconnectDelay = firstDelay;
          setState("ready", `Connected to extexify-lsp at ${options.url}`);
        },
        (error: Error) => {
          // close() during the handshake already settled the state for good.
          if (state === "closed") return;
          setState("disconnected", `extexify-lsp at ${options.url} failed to initialize: ${error.message}`);
          ws.close();
        },
      );
    };
    ws.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
      handleMessage(typeof event.data === "string" ? event.data : decoder.decode(event.data));
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      const lost = new Error(`Lost the connection to extexify-lsp at ${options.url}`);
      pending.rejectAll(lost);
      if (state === "closed") return;
      const seconds = (reconnectDelay / 1000).toFixed(1);
      setState(
        "disconnected",
        opened
          ? `Lost the connection to extexify-lsp at ${options.url}; reconnecting…`
          : `Cannot reach extexify-lsp at ${options.url} (start it with \`extexify-lsp --ws HOST:PORT\`); ` +
              `retrying in ${seconds} s`,
      );
      reconnectTimer = setTimeout(connect, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, maxDelay);
    };
  }

  connect();

  return {
    get state() {
      return state;
    },
    recognizeStrokes(params, signal) {
      if (state !== "ready") {
        return Promise.reject(new Error(stateDetail));
      }
      return request<CompletionList>(RECOGNIZE_STROKES, params, signal);
    },
    glyphs(symbolIds) {
      if (state !== "ready") {
        return Promise.reject(new Error(stateDetail));
      }
      return request<GlyphsResult>(GLYPHS, { symbolIds });
    },
    teach(params) {
      if (state !== "ready") {
        return Promise.reject(new Error(stateDetail));
      }
      return request<TeachResult>(TEACH, params);
    },
    executeCommand(command) {
      if (state !== "ready") {
        return Promise.reject(new Error(stateDetail));
      }
      return request("workspace/executeCommand", { command: command.command, arguments: command.arguments ?? [] });
    },
    openDocument(uri, languageId, text) {
      const document = { languageId, version: 1, text };
      documents.set(uri, document);
      if (state === "ready") openOnServer(uri, document);
    },
    changeDocument(uri, text) {
      const document = documents.get(uri);
      if (!document) throw new Error(`changeDocument: ${uri} was never opened`);
      document.version += 1;
      document.text = text;
      if (state === "ready") {
        notify("textDocument/didChange", {
          textDocument: { uri, version: document.version },
          contentChanges: [{ text }],
        });
      }
    },
    closeDocument(uri) {
      if (documents.delete(uri) && state === "ready") notify("textDocument/didClose", { textDocument: { uri } });
    },
    close() {
      // No shutdown/exit: one server may serve several pages, and `exit` would end its process.
      clearTimeout(reconnectTimer);
      setState("closed", "Disconnected from extexify-lsp");
      socket?.close();
    },
  };
}
