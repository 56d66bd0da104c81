// The webview: the shared drawing pad, talking to the extension host through `postMessage`.
import { createPad } from "../../../pad/src/pad";
import { createHostClient, type HostMessage, type WebviewMessage } from "../messages";

declare function acquireVsCodeApi(): { postMessage(message: WebviewMessage): void };

const vscode = acquireVsCodeApi();
const client = createHostClient((message) => vscode.postMessage(message));
const container = document.getElementById("pad");
if (!container) {
  throw new Error("the webview HTML lacks the #pad element");
}
const pad = createPad(container, {
  recognize: client.recognize,
  glyphs: client.glyphs,
  teach: client.teach,
  onChoose: (item) => vscode.postMessage({ type: "choose", item }),
  // Cleared by the host's "inserted" instead: if the insertion fails, the drawing is still there.
  clearOnChoose: false,
});

window.addEventListener("message", (event: MessageEvent<HostMessage>) => {
  const message = event.data;
  switch (message.type) {
    case "result":
    case "glyphs":
    case "taught":
    case "error":
      client.receive(message);
      break;
    case "status":
      pad.setError(message.message);
      if (message.refresh) {
        pad.refresh();
      }
      break;
    case "inserted":
      pad.clear();
      break;
  }
});
vscode.postMessage({ type: "ready" });
