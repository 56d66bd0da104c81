// A WebSocket to `extexify-lsp --ws` that reconnects with backoff and reconnects @codemirror/lsp-client
// each time: the client then initializes again and re-opens the editor's document.
import type { LSPClient, Transport } from "@codemirror/lsp-client";

export type ConnectionState = "connecting" | "ready" | "disconnected" | "closed";

export interface ConnectionOptions {
  /** e.g. `ws://127.0.0.1:8765` */
  url: string;
  /** First delay before reconnecting; it doubles up to `maxReconnectDelayMs`. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
}

/** The connection of one LSP client; `detail` is a message fit for the user. */
export interface Connection {
  readonly state: ConnectionState;
  readonly detail: string;
  /** Rejects when the current connection is lost (a request in flight then fails at once). */
  readonly lost: Promise<never>;
  /** Called on every change of state; returns a function that unsubscribes. */
  listen(listener: (state: ConnectionState, detail: string) => void): () => void;
  /** Stop reconnecting and close the socket. */
  close(): void;
}

export function connect(client: LSPClient, options: ConnectionOptions): Connection {
  const firstDelay = options.reconnectDelayMs ?? 500;
  const maxDelay = options.maxReconnectDelayMs ?? 5000;
  const listeners = new Set<(state: ConnectionState, detail: string) => void>();
  const decoder = new TextDecoder();
  let state: ConnectionState = "connecting";
  let detail = "";
  let delay = firstDelay;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let socket: WebSocket | null = null;
  let lost!: Promise<never>;
  let loseConnection!: (error: Error) => void;

  function newLostPromise(): void {
    lost = new Promise<never>((_, reject) => (loseConnection = reject));
    lost.catch(() => undefined); // nobody need be waiting when it goes
  }
  newLostPromise();

  function setState(next: ConnectionState, message: string): void {
    state = next;
    detail = message;
    for (const listener of listeners) listener(next, message);
  }

  function open(): void {
    setState("connecting", `Connecting to extexify-lsp at ${options.url}…`);
    const ws = new WebSocket(options.url);
    ws.binaryType = "arraybuffer"; // pygls sends each message as a binary frame of UTF-8 JSON
    socket = ws;
    const handlers = new Set<(value: string) => void>();
    const transport: Transport = {
      send(message) {
        if (ws.readyState !== WebSocket.OPEN) throw new Error(`Not connected to extexify-lsp at ${options.url}`);
        ws.send(message);
      },
      subscribe: (handler) => void handlers.add(handler),
      unsubscribe: (handler) => void handlers.delete(handler),
    };
    let opened = false;
    ws.onopen = () => {
      opened = true;
      client.connect(transport).initializing.then(
        () => {
          if (socket !== ws) return;
          delay = firstDelay;
          setState("ready", `Connected to extexify-lsp at ${options.url}`);
        },
        (error: unknown) => {
          if (socket !== ws) return;
          const message = error instanceof Error ? error.message : String((error as { message?: string }).message);
          setState("disconnected", `extexify-lsp at ${options.url} failed to initialize: ${message}`);
          ws.close();
        },
      );
    };
    ws.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
      const text = typeof event.data === "string" ? event.data : decoder.decode(event.data);
      for (const handler of handlers) handler(text);
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      if (opened) client.disconnect();
      loseConnection(new Error(`Lost the connection to extexify-lsp at ${options.url}`));
      newLostPromise();
      if (state === "closed") return;
      const seconds = (delay / 1000).toFixed(1);
      setState(
        "disconnected",
        opened
          ? `Lost the connection to extexify-lsp at ${options.url}; reconnecting…`
          : `Cannot reach extexify-lsp at ${options.url} (start it with \`extexify-lsp --ws HOST:PORT\`); ` +
              `retrying in ${seconds} s`,
      );
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, maxDelay);
    };
  }

  open();

  return {
    get state() {
      return state;
    },
    get detail() {
      return detail;
    },
    get lost() {
      return lost;
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      clearTimeout(timer);
      setState("closed", "Disconnected from extexify-lsp");
      const ws = socket;
      socket = null;
      if (ws) {
        client.disconnect();
        ws.close();
      }
    },
  };
}
