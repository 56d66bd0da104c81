// The extexify extension for CodeMirror 6: an LSP client (completion, hover, document sync) to
// `extexify-lsp --ws`, a toolbar with the pad's toggle and the connection state, and the pad in a panel.
import { hoverTooltips, LSPClient, LSPPlugin, serverCompletion, type WorkspaceMapping } from "@codemirror/lsp-client";
import { type Extension, StateEffect, StateField } from "@codemirror/state";
import {
  EditorView,
  keymap,
  type Panel,
  runScopeHandlers,
  showPanel,
  ViewPlugin,
  type ViewUpdate,
} from "@codemirror/view";

import { fitChoice, type ChoiceHost, ChoiceError } from "../../pad/src/client/choice";
import { abortable, asError } from "../../pad/src/client/requests";
import type { ConnectionState, ReconnectingSocket } from "../../pad/src/client/socket";
import { createPad, type Pad } from "../../pad/src/pad";
import {
  type CompletionItem,
  type CompletionList,
  GLYPHS,
  type GlyphsResult,
  MAX_CANDIDATES,
  MAX_LIMIT,
  RECOGNIZE_STROKES,
  type RecognizeStrokesParams,
  type Stroke,
  TEACH,
  type TeachResult,
  type TextEdit,
} from "../../pad/src/protocol";
import { taughtItem } from "../../pad/src/newSymbol";
import { connect } from "./transport";

export interface ExtexifyConfig {
  /** The `extexify-lsp --ws` address, e.g. `ws://127.0.0.1:8765`. */
  server: string;
  /** The URI the editor's document is known by on the server. */
  documentUri: string;
  /** The LSP language id of the document. */
  languageId?: string;
  /** Show the pad when the editor opens. */
  padOpen?: boolean;
  /** Candidates the pad shows (at most 9). */
  limit?: number;
  /** Milliseconds before a request to the server fails. */
  timeout?: number;
  /** Told about every connection change; `detail` is a message fit for the user. */
  onStateChange?(state: ConnectionState, detail: string): void;
}

/** Show (true) or hide (false) the pad. */
export const setPadOpen = StateEffect.define<boolean>();

const EXECUTE_COMMAND = "workspace/executeCommand";

export function extexify(config: ExtexifyConfig): Extension {
  const uri = config.documentUri;
  const limit = Math.min(Math.max(1, config.limit ?? MAX_CANDIDATES), MAX_CANDIDATES);
  const client = new LSPClient({
    timeout: config.timeout ?? 30_000,
    // Completion and hover documentation then carry the glyph images of symbols.
    initializationOptions: { glyphImages: true },
    extensions: [serverCompletion(), hoverTooltips()],
  });

  const session = ViewPlugin.define((view) => new Session(view, client, config));

  const padOpen = StateField.define<boolean>({
    create: () => config.padOpen ?? false,
    update(open, transaction) {
      for (const effect of transaction.effects) if (effect.is(setPadOpen)) open = effect.value;
      return open;
    },
    provide: (field) => [
      showPanel.from(field, (open) => (open ? (view) => padPanel(view, view.plugin(session)) : null)),
      showPanel.of((view) => toolbarPanel(view, view.plugin(session), field)),
    ],
  });

  function padPanel(view: EditorView, owner: Session | null): Panel {
    const dom = document.createElement("div");
    dom.className = "cm-extexify-pad";
    dom.addEventListener("keydown", (event) => {
      if (runScopeHandlers(view, event, "extexify")) event.preventDefault();
    });
    if (!owner) return { dom };
    const live = owner;
    let answered: Answer | null = null;
    const pad: Pad = createPad(dom, {
      limit,
      async recognize(strokes, signal) {
        const answer = await live.recognize(strokes, limit, signal);
        answered?.mapping.destroy();
        answered = answer;
        return answer.list;
      },
      glyphs: async (symbolIds) => (await live.request<GlyphsResult>(GLYPHS, { symbolIds })).glyphs,
      async teach(strokes, symbol) {
        const result = await live.request<TeachResult>(TEACH, { strokes, symbol });
        // Recognized again at the cursor: the server's item for the new symbol brings its package line.
        // Failing that, the bare command goes in at the cursor.
        const answer = await live.recognize(strokes, MAX_LIMIT).catch(() => null);
        answered?.mapping.destroy();
        answered = answer;
        return taughtItem(result, symbol, answer?.list.items ?? []);
      },
      onChoose: (item) => void choose(item),
    });

    async function choose(item: CompletionItem): Promise<void> {
      const answer = answered;
      let fitted = item;
      if (answer) {
        const host: ChoiceHost = {
          stillFits: () => answer.mapping.mapPos(uri, answer.head, 1) === view.state.selection.main.head,
          recognizeHere: async (strokes, count) => {
            const fresh = await live.recognize(strokes, count);
            fresh.mapping.destroy();
            return fresh.list;
          },
        };
        try {
          fitted = await fitChoice(item, answer.strokes, host);
        } catch (error) {
          if (!(error instanceof ChoiceError)) throw error;
          pad.setError(error.message);
          return;
        }
      }
      // Asked again, the edits fit the document as it is now: nothing to map.
      insert(view, fitted, answer && fitted === item ? answer.mapping : null);
      view.focus();
      const command = fitted.command;
      if (command) {
        live
          .request(EXECUTE_COMMAND, { command: command.command, arguments: command.arguments ?? [] })
          .catch((error: unknown) => console.warn(`extexify: ${command.command} failed:`, asError(error).message));
      }
    }

    const onState = (state: ConnectionState, detail: string) => {
      if (state === "ready") {
        pad.setError(null);
        pad.refresh();
      } else if (state === "disconnected") {
        pad.setError(detail);
      }
    };
    const unlisten = live.connection.listen(onState);
    if (live.connection.state === "disconnected") pad.setError(live.connection.detail);

    return {
      dom,
      top: false,
      mount: () => pad.focus(),
      update(update: ViewUpdate) {
        // The ink colour comes from the theme: repaint once the editor's dark or light styles apply.
        if (update.startState.facet(EditorView.darkTheme) !== update.state.facet(EditorView.darkTheme)) {
          requestAnimationFrame(() => pad.repaint());
        }
      },
      destroy() {
        unlisten();
        answered?.mapping.destroy();
        pad.destroy();
      },
    };
  }

  return [
    client.plugin(uri, config.languageId ?? "latex"),
    session,
    padOpen,
    // In the "extexify" scope too: the pad's panel runs it for keys pressed in the pad.
    keymap.of([
      { key: "Mod-Alt-d", run: (view) => togglePad(view, padOpen), preventDefault: true, scope: "editor extexify" },
    ]),
    theme,
  ];
}

/** One editor's connection and its requests. */
class Session {
  readonly connection: ReconnectingSocket;
  constructor(
    readonly view: EditorView,
    private readonly client: LSPClient,
    private readonly config: ExtexifyConfig,
  ) {
    this.connection = connect(client, config.server);
    if (config.onStateChange) this.connection.listen(config.onStateChange);
  }

  request<T>(method: string, params: object, signal?: AbortSignal): Promise<T> {
    if (this.connection.state !== "ready") return Promise.reject(new Error(this.connection.detail));
    return abortable(this.client.request<object, T>(method, params), {
      signal,
      cancel: () => this.client.cancelRequest(params),
      lost: this.connection.lost,
    });
  }

  /** Recognize at the cursor; the answer's edits fit the document as it was synced for the request. */
  async recognize(strokes: Stroke[], count: number, signal?: AbortSignal): Promise<Answer> {
    const plugin = LSPPlugin.get(this.view);
    if (!plugin) throw new Error("extexify: the editor has no LSP plugin");
    this.client.sync();
    const head = this.view.state.selection.main.head;
    const mapping = this.client.workspaceMapping();
    const params: RecognizeStrokesParams = {
      strokes,
      limit: count,
      textDocument: { uri: this.config.documentUri },
      position: plugin.toPosition(head),
    };
    try {
      const list = await this.request<CompletionList>(RECOGNIZE_STROKES, params, signal);
      return { list, strokes, head, mapping };
    } catch (error) {
      mapping.destroy();
      throw error;
    }
  }

  destroy(): void {
    this.connection.close();
  }
}


/** A recognize answer, the strokes and cursor it was asked for, and the edits made since. */
interface Answer {
  list: CompletionList;
  strokes: Stroke[];
  head: number;
  mapping: WorkspaceMapping;
}

/** Apply the item's edits, mapped through the changes since they were answered, as one transaction. */
function insert(view: EditorView, item: CompletionItem, mapping: WorkspaceMapping | null): void {
  const plugin = LSPPlugin.get(view);
  if (!plugin) return;
  const range = (edit: TextEdit) => {
    if (!mapping) return { from: plugin.fromPosition(edit.range.start), to: plugin.fromPosition(edit.range.end) };
    const from = mapping.mapPosition(plugin.uri, edit.range.start, 1);
    return { from, to: Math.max(from, mapping.mapPosition(plugin.uri, edit.range.end, -1)) };
  };
  const selection = view.state.selection.main;
  const main = item.textEdit
    ? { ...range(item.textEdit), insert: item.textEdit.newText }
    : { from: selection.from, to: selection.to, insert: item.label };
  const changes = view.state.changes([
    main,
    ...(item.additionalTextEdits ?? []).map((edit) => ({ ...range(edit), insert: edit.newText })),
  ]);
  view.dispatch({
    changes,
    selection: { anchor: changes.mapPos(main.to, 1) },
    scrollIntoView: true,
    userEvent: "input.complete",
  });
}

function togglePad(view: EditorView, field: StateField<boolean>): boolean {
  view.dispatch({ effects: setPadOpen.of(!view.state.field(field)) });
  if (!view.state.field(field)) view.focus();
  return true;
}

function toolbarPanel(view: EditorView, owner: Session | null, field: StateField<boolean>): Panel {
  const dom = document.createElement("div");
  dom.className = "cm-extexify-toolbar";
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "cm-extexify-toggle";
  toggle.textContent = "✎ Draw a symbol";
  toggle.title = "Show or hide the extexify drawing pad (Ctrl/Cmd+Alt+D)";
  toggle.addEventListener("click", () => togglePad(view, field));
  const status = document.createElement("span");
  status.className = "cm-extexify-status";
  status.setAttribute("aria-live", "polite");
  dom.append(toggle, status);
  const show = (state: ConnectionState, detail: string) => {
    status.dataset.state = state;
    status.textContent = detail;
  };
  const unlisten = owner?.connection.listen(show);
  if (owner) show(owner.connection.state, owner.connection.detail);
  const pressed = (open: boolean) => toggle.setAttribute("aria-pressed", String(open));
  pressed(view.state.field(field));
  return {
    dom,
    top: true,
    update: (update: ViewUpdate) => pressed(update.state.field(field)),
    destroy: () => unlisten?.(),
  };
}

// The pad's colours follow the editor's light or dark theme rather than the system's.
const LIGHT = {
  "--pad-bg": "#ffffff",
  "--pad-fg": "#1f2328",
  "--pad-muted": "#656d76",
  "--pad-canvas-bg": "#fbfbfa",
  "--pad-ink": "#1f2328",
  "--pad-border": "#d0d7de",
  "--pad-accent": "#0969da",
  "--pad-hover": "#eef3fb",
  "--pad-error-bg": "#ffebe9",
  "--pad-error-fg": "#a40e26",
  "--pad-glyph-filter": "none",
  "--pad-glyph-blend": "multiply",
};
const DARK = {
  "--pad-bg": "#0d1117",
  "--pad-fg": "#e6edf3",
  "--pad-muted": "#8d96a0",
  "--pad-canvas-bg": "#161b22",
  "--pad-ink": "#e6edf3",
  "--pad-border": "#30363d",
  "--pad-accent": "#4493f8",
  "--pad-hover": "#1c2533",
  "--pad-error-bg": "#3c1618",
  "--pad-error-fg": "#ffa198",
  "--pad-glyph-filter": "invert(1)",
  "--pad-glyph-blend": "screen",
};

const theme = EditorView.baseTheme({
  "&light .extexify-pad": LIGHT,
  "&dark .extexify-pad": DARK,
  ".cm-extexify-pad .extexify-pad": { maxHeight: "60vh", overflow: "auto" },
  ".cm-extexify-pad .extexify-pad__board": { maxWidth: "280px" },
  ".cm-extexify-toolbar": { display: "flex", alignItems: "center", gap: "8px", padding: "2px 6px", fontSize: "90%" },
  ".cm-extexify-toggle": { font: "inherit", cursor: "pointer" },
  ".cm-extexify-toggle[aria-pressed=true]": { fontWeight: "bold" },
  ".cm-extexify-status": { opacity: "0.7" },
  ".cm-extexify-status[data-state=disconnected]": { opacity: "1" },
});
