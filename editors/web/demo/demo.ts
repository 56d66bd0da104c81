// The demo page: a LaTeX textarea and the pad, talking to the server named by `?server=` (default below).
import { createTextareaPad } from "../src/index";

const DEFAULT_SERVER = "ws://127.0.0.1:8765";

const serverUrl = new URLSearchParams(location.search).get("server") ?? DEFAULT_SERVER;
const textarea = document.querySelector<HTMLTextAreaElement>("#editor");
const padContainer = document.querySelector<HTMLElement>("#pad");
const connection = document.querySelector<HTMLElement>("#connection");
if (!textarea || !padContainer || !connection) throw new Error("demo page: #editor, #pad or #connection is missing");

createTextareaPad(padContainer, textarea, {
  serverUrl,
  onStateChange(state, detail) {
    connection.dataset.state = state;
    connection.textContent = detail;
  },
});
