// The demo: a small local-first LaTeX editor. CodeMirror 6 with codemirror-lang-latex, the document kept in
// IndexedDB, and extexify (pad, completion, hover) talking to the server named by `?server=`.
import { Compartment } from "@codemirror/state";
import { EditorView, basicSetup } from "codemirror";
import { latex } from "codemirror-lang-latex";

import { extexify } from "../src/index";
import { EXAMPLES } from "./examples";
import { load, save } from "./storage";

const DEFAULT_SERVER = "ws://127.0.0.1:8765";
const DOCUMENT = "document.tex";
const SAVE_DELAY_MS = 300;

const query = new URLSearchParams(location.search);
const server = query.get("server") ?? DEFAULT_SERVER;
// The theme menu, first set from `?theme=light|dark`; "system" follows the system's. The pad follows the editor's.
const systemDark = matchMedia("(prefers-color-scheme: dark)");
const themeMenu = document.querySelector<HTMLSelectElement>("#theme");
if (!themeMenu) throw new Error("demo page: #theme is missing");
themeMenu.value = query.get("theme") ?? "system";
const dark = () => (themeMenu.value === "system" ? systemDark.matches : themeMenu.value === "dark");
const darkTheme = EditorView.theme(
  {
    "&": { color: "#e6edf3", backgroundColor: "#0d1117" },
    ".cm-content": { caretColor: "#e6edf3" },
    ".cm-cursor, .cm-dropCursor": { borderLeftColor: "#e6edf3" },
    ".cm-gutters": { color: "#8d96a0", backgroundColor: "#161b22", borderRightColor: "#30363d" },
    ".cm-activeLine, .cm-activeLineGutter": { backgroundColor: "#1c2533" },
    ".cm-panels": { color: "#e6edf3", backgroundColor: "#161b22" },
  },
  { dark: true },
);
const theme = new Compartment();
const parent = document.querySelector<HTMLElement>("#editor");
const examples = document.querySelector<HTMLSelectElement>("#examples");
const saved = document.querySelector<HTMLElement>("#saved");
if (!parent || !examples || !saved) throw new Error("demo page: #editor, #examples or #saved is missing");

let timer: ReturnType<typeof setTimeout> | undefined;
const keep = (text: string) => {
  clearTimeout(timer);
  saved.textContent = "Saving…";
  timer = setTimeout(() => {
    save(DOCUMENT, text).then(
      () => (saved.textContent = "Saved in this browser"),
      (error: unknown) => (saved.textContent = `Not saved: ${String(error)}`),
    );
  }, SAVE_DELAY_MS);
};

const text = (await load(DOCUMENT).catch(() => null)) ?? EXAMPLES[0].text;
saved.textContent = "Saved in this browser";

const view = new EditorView({
  parent,
  doc: text,
  extensions: [
    basicSetup,
    theme.of(dark() ? darkTheme : []),
    latex({ enableAutocomplete: false, enableTooltips: false, enableLinting: false }),
    extexify({ server, documentUri: "untitled:extexify-demo/document.tex", padOpen: true }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) keep(update.state.doc.toString());
    }),
  ],
});
// The cursor starts in the first formula's gap, ready for a symbol.
const gap = text.indexOf("$x  y$");
view.dispatch({ selection: { anchor: gap >= 0 ? gap + 3 : 0 } });
Object.assign(window, { extexifyDemo: { view } });
const applyTheme = () => {
  document.documentElement.dataset.theme = dark() ? "dark" : "light";
  view.dispatch({ effects: theme.reconfigure(dark() ? darkTheme : []) });
};
applyTheme();
systemDark.addEventListener("change", applyTheme);
themeMenu.addEventListener("change", applyTheme);

examples.append(...EXAMPLES.map((example, index) => new Option(example.name, String(index))));
examples.addEventListener("change", () => {
  const example = EXAMPLES[Number(examples.value)];
  examples.value = "";
  if (!example || !confirm(`Replace the document with the “${example.name}” example?`)) return;
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: example.text } });
  view.focus();
});
