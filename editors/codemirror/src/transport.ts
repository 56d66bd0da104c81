// @codemirror/lsp-client over the pad's reconnecting WebSocket to `extexify-lsp --ws`: the client is connected
// again on each new socket, so it initializes again and re-opens the editor's document.
import type { LSPClient, Transport } from "@codemirror/lsp-client";
import { connectSocket, type ReconnectingSocket } from "../../pad/src/client/socket";

export function connect(client: LSPClient, url: string): ReconnectingSocket {
  const handlers = new Set<(value: string) => void>();
  const transport: Transport = {
    send: (message) => socket.send(message),
    subscribe: (handler) => void handlers.add(handler),
    unsubscribe: (handler) => void handlers.delete(handler),
  };
  const socket = connectSocket({
    url,
    onOpen: () => client.connect(transport).initializing,
    onMessage(text) {
      for (const handler of handlers) handler(text);
    },
    onClose: () => client.disconnect(),
  });
  return socket;
}
