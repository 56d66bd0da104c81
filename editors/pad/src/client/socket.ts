// The browser hosts' WebSocket to `extexify-lsp --ws`: it reconnects with back-off whenever the connection drops,
// and tells the host each change of state with a message fit for the user.
import { asError } from "./requests";

export type ConnectionState = "connecting" | "ready" | "disconnected" | "closed";

export interface SocketOptions {
  /** e.g. `ws://127.0.0.1:8765` */
  url: string;
  /** First delay before reconnecting; it doubles up to `maxReconnectDelayMs`. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /**
   * The socket opened: start the protocol on it (LSP `initialize`). The connection is ready once this resolves;
   * when it rejects, the socket is closed and opened again later.
   */
  onOpen(): Promise<unknown>;
  /** A message from the server, as text. */
  onMessage(text: string): void;
  /** Told about every change of state from the first on, like the listeners added later with `listen`. */
  onStateChange?(state: ConnectionState, detail: string): void;
  /** A socket that had opened is gone (dropped, or `close()`); called before `lost` rejects with `error`. */
  onClose?(error: Error): void;
}

/** A connection that reconnects; `detail` is a message fit for the user. */
export interface ReconnectingSocket {
  readonly state: ConnectionState;
  readonly detail: string;
  /** Rejects when the current connection is lost (a request in flight then fails at once); renewed per connection. */
  readonly lost: Promise<never>;
  /** Called on every change of state; returns a function that unsubscribes. */
  listen(listener: (state: ConnectionState, detail: string) => void): () => void;
  /** Whether a socket is open to send on (during `onOpen` too, before the connection is ready). */
  readonly open: boolean;
  /** Send a message on the open socket; throws when there is none. */
  send(text: string): void;
  /** Stop reconnecting and close the socket. */
  close(): void;
}

export function connectSocket(options: SocketOptions): ReconnectingSocket {
  const { url } = options;
  const firstDelay = options.reconnectDelayMs ?? 500;
  const maxDelay = options.maxReconnectDelayMs ?? 5000;
  const listeners = new Set<(state: ConnectionState, detail: string) => void>();
  const decoder = new TextDecoder();
  let state: ConnectionState = "connecting";
  let detail = "";
  let delay = firstDelay;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let socket: WebSocket | null = null;
  let opened = false; // whether `socket` has opened: only then has the host something to clean up
  let lost!: Promise<never>;
  let loseConnection!: (error: Error) => void;

  function renewLost(): void {
    lost = new Promise<never>((_, reject) => (loseConnection = reject));
    lost.catch(() => undefined); // nobody need be waiting when it goes
  }
  renewLost();

  function setState(next: ConnectionState, message: string): void {
    state = next;
    detail = message;
    options.onStateChange?.(next, message);
    for (const listener of listeners) listener(next, message);
  }

  /** Forget the socket; if it had opened, the host cleans up, then whoever waits on `lost` fails. */
  function forget(error: Error): void {
    socket = null;
    if (!opened) return;
    options.onClose?.(error);
    loseConnection(error);
    renewLost();
  }

  function openSocket(): void {
    setState("connecting", `Connecting to extexify-lsp at ${url}…`);
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer"; // pygls sends each message as a binary frame of UTF-8 JSON
    socket = ws;
    opened = false;
    ws.onopen = () => {
      opened = true;
      options.onOpen().then(
        () => {
          if (socket !== ws) return;
          delay = firstDelay;
          setState("ready", `Connected to extexify-lsp at ${url}`);
        },
        (error: unknown) => {
          // Closed or dropped meanwhile: that already settled the state.
          if (socket !== ws) return;
          setState("disconnected", `extexify-lsp at ${url} failed to initialize: ${asError(error).message}`);
          ws.close();
        },
      );
    };
    ws.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
      if (socket === ws) options.onMessage(typeof event.data === "string" ? event.data : decoder.decode(event.data));
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      forget(new Error(`Lost the connection to extexify-lsp at ${url}`));
      const seconds = (delay / 1000).toFixed(1);
      setState(
        "disconnected",
        opened
          ? `Lost the connection to extexify-lsp at ${url}; reconnecting…`
          : `Cannot reach extexify-lsp at ${url} (start it with \`extexify-lsp --ws HOST:PORT\`); ` +
              `retrying in ${seconds} s`,
      );
      timer = setTimeout(openSocket, delay);
      delay = Math.min(delay * 2, maxDelay);
    };
  }

  openSocket();

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
    get open() {
      return socket?.readyState === WebSocket.OPEN;
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    send(text) {
      // A closing socket would drop the message silently; the request would then wait for nothing.
      if (socket?.readyState !== WebSocket.OPEN) throw new Error(`Not connected to extexify-lsp at ${url}`);
      socket.send(text);
    },
    close() {
      clearTimeout(timer);
      setState("closed", "Disconnected from extexify-lsp");
      const ws = socket;
      if (!ws) return;
      forget(new Error("Disconnected from extexify-lsp"));
      ws.close();
    },
  };
}
