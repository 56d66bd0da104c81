// The drawing pad as a webview panel beside the editor: forwards its strokes to the server and puts the
// chosen command into the text editor the user was typing in.
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";

import { bareCommand, ChoiceError, fitChoice } from "../../pad/src/client/choice";
import {
  type CompletionItem,
  type CompletionList,
  GLYPHS,
  type GlyphsParams,
  type GlyphsResult,
  MAX_CANDIDATES,
  MAX_LIMIT,
  type NewSymbol,
  RECOGNIZE_STROKES,
  type RecognizeStrokesParams,
  type Stroke,
  TEACH,
  type TeachParams,
  type TeachResult,
  type TextEdit,
} from "../../pad/src/protocol";
import { taughtItem } from "../../pad/src/newSymbol";
import { runItemCommand } from "./itemCommand";
import { createHostHandler, cursorAfterEdits, editsForItem, type Glyphs, type HostMessage } from "./messages";
import type { ServerState } from "./server";

/** Languages whose documents the server knows (the client's document selector): only those get edits. */
const LATEX_LANGUAGES = new Set(["latex", "tex"]);

/** Where a recognition answer's edits apply: they are stale once the document or the cursor changes. */
interface RequestContext {
  strokes: Stroke[];
  document: vscode.TextDocument | undefined;
  version: number | undefined;
  position: vscode.Position | undefined;
}

function toRange(range: TextEdit["range"]): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

function webviewHtml(webview: vscode.Webview, distUri: vscode.Uri): string {
  const nonce = randomBytes(16).toString("hex");
  const script = webview.asWebviewUri(vscode.Uri.joinPath(distUri, "webview.js"));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(distUri, "webview.css"));
  // KaTeX sets inline styles on its output, hence 'unsafe-inline' for styles (never for scripts).
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
    `script-src 'nonce-${nonce}'`,
  ].join("; ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${style.toString()}">
<title>Draw a symbol</title>
</head>
<body>
<main id="pad"></main>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}

export class DrawPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  /** `activeTextEditor` is undefined while the webview has focus, so the panel remembers the last one. */
  private lastEditor: vscode.TextEditor | undefined;
  private lastRequest: RequestContext | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly handler = createHostHandler({
    recognize: (strokes, signal) => this.recognize(strokes, signal),
    glyphs: (symbolIds) => this.glyphs(symbolIds),
    teach: (strokes, symbol) => this.teach(strokes, symbol),
    choose: (item) =>
      this.choose(item).catch((error: unknown) => {
        void vscode.window.showErrorMessage(`extexify: could not insert ${item.label}: ${String(error)}`);
      }),
    ready: () => this.postStatus(false),
    post: (message) => this.post(message),
    reportError: (error) => this.output.error(`webview: ${error.message}`),
  });

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly server: () => ServerState,
    private readonly output: vscode.LogOutputChannel,
  ) {
    this.lastEditor = vscode.window.activeTextEditor;
    this.subscriptions.push(
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        // The output panel is a text editor too, but nobody draws symbols into a log.
        if (editor && editor.document.uri.scheme !== "output") {
          this.lastEditor = editor;
        }
      }),
    );
  }

  /** Opens the pad beside the editor, or reveals it; the editor keeps the focus until the user draws. */
  show(): void {
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return;
    }
    const distUri = vscode.Uri.joinPath(this.extensionUri, "dist");
    const panel = vscode.window.createWebviewPanel(
      "extexify.draw",
      "Draw a symbol",
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [distUri], retainContextWhenHidden: true },
    );
    panel.webview.html = webviewHtml(panel.webview, distUri);
    panel.webview.onDidReceiveMessage((message: unknown) => this.handler.handle(message));
    panel.onDidDispose(() => {
      this.handler.cancelAll();
      this.panel = undefined;
    });
    this.panel = panel;
  }

  /** Tells the pad that the server came, went or failed; a server that is back re-recognizes the drawing. */
  serverChanged(): void {
    this.postStatus(true);
  }

  dispose(): void {
    this.panel?.dispose();
    vscode.Disposable.from(...this.subscriptions).dispose();
  }

  private post(message: HostMessage): void {
    void this.panel?.webview.postMessage(message);
  }

  private postStatus(refresh: boolean): void {
    const state = this.server();
    this.post({ type: "status", message: state.client ? null : state.problem, refresh: refresh && !!state.client });
  }

  private async recognize(
    strokes: Stroke[],
    signal?: AbortSignal,
    limit: number = MAX_CANDIDATES,
  ): Promise<CompletionList> {
    const editor = this.lastEditor?.document.isClosed ? undefined : this.lastEditor;
    const document = editor && LATEX_LANGUAGES.has(editor.document.languageId) ? editor.document : undefined;
    // Taken with the request, not after the answer: the user may type or click while the server works.
    const context: RequestContext = {
      strokes,
      document,
      version: document?.version,
      position: document ? editor?.selection.active : undefined,
    };
    const list = await this.request(strokes, editor, limit, signal);
    if (!signal?.aborted) {
      this.lastRequest = context;
    }
    return list;
  }

  /** Asks the server; with a LaTeX editor, for edits at its cursor too. */
  private async request(
    strokes: Stroke[],
    editor: vscode.TextEditor | undefined,
    limit: number,
    signal?: AbortSignal,
  ): Promise<CompletionList> {
    const state = this.server();
    if (!state.client) {
      throw new Error(state.problem);
    }
    const params: RecognizeStrokesParams = { strokes, limit };
    if (editor && LATEX_LANGUAGES.has(editor.document.languageId)) {
      const { line, character } = editor.selection.active;
      params.textDocument = { uri: state.client.code2ProtocolConverter.asUri(editor.document.uri) };
      params.position = { line, character };
    }
    const cancellation = new vscode.CancellationTokenSource();
    signal?.addEventListener("abort", () => cancellation.cancel(), { once: true });
    try {
      return await state.client.sendRequest<CompletionList>(RECOGNIZE_STROKES, params, cancellation.token);
    } finally {
      cancellation.dispose();
    }
  }

  private async glyphs(symbolIds: string[]): Promise<Glyphs> {
    const state = this.server();
    if (!state.client) {
      throw new Error(state.problem);
    }
    const params: GlyphsParams = { symbolIds };
    const result = await state.client.sendRequest<GlyphsResult>(GLYPHS, params);
    return result.glyphs;
  }

  /**
   * Teaches the strokes as `symbol`, then answers the item inserting it: recognized again at the cursor, so
   * that its edits carry the `\usepackage` line (the bare command where the server does not list it).
   */
  private async teach(strokes: Stroke[], symbol: NewSymbol): Promise<CompletionItem> {
    const state = this.server();
    if (!state.client) {
      throw new Error(state.problem);
    }
    const params: TeachParams = { strokes, symbol };
    const result = await state.client.sendRequest<TeachResult>(TEACH, params);
    this.output.info(`taught ${symbol.command} as ${result.symbolId} (sample ${result.sampleId})`);
    let items: CompletionItem[] = [];
    try {
      items = (await this.recognize(strokes, undefined, MAX_LIMIT)).items;
    } catch (error) {
      this.output.warn(`could not recognize ${symbol.command} again after teaching it: ${String(error)}`);
    }
    return taughtItem(result, symbol, items);
  }

  /** The remembered editor, shown again if it was hidden; undefined once its document is closed. */
  private async targetEditor(): Promise<vscode.TextEditor | undefined> {
    const last = this.lastEditor;
    if (!last || last.document.isClosed) {
      return undefined;
    }
    const visible = vscode.window.visibleTextEditors;
    return (
      visible.find((editor) => editor === last) ??
      visible.find((editor) => editor.document === last.document) ??
      vscode.window.showTextDocument(last.document, { viewColumn: last.viewColumn, preserveFocus: true })
    );
  }

  /** `chosen` with edits that fit the editor's document and cursor right before they apply. */
  private async itemForNow(chosen: CompletionItem, editor: vscode.TextEditor): Promise<CompletionItem> {
    const context = this.lastRequest;
    if (!context) {
      return chosen;
    }
    const document = editor.document;
    return fitChoice(chosen, context.strokes, {
      // Outside LaTeX the server answers no edits: an item without them goes in at the cursor as it is.
      stillFits: () =>
        (!LATEX_LANGUAGES.has(document.languageId) && !chosen.textEdit) ||
        (context.document === document &&
          context.version === document.version &&
          context.position?.isEqual(editor.selection.active) === true),
      recognizeHere: (strokes, limit) => this.request(strokes, editor, limit),
      snapshot: () => {
        const version = document.version;
        const position = editor.selection.active;
        return () => document.version === version && editor.selection.active.isEqual(position);
      },
    });
  }

  private async choose(chosen: CompletionItem): Promise<void> {
    const editor = await this.targetEditor();
    if (!editor) {
      await vscode.env.clipboard.writeText(chosen.label);
      void vscode.window.showInformationMessage(
        `extexify: no open editor to insert into, so ${chosen.label} was copied to the clipboard.`,
      );
      return;
    }
    let item: CompletionItem;
    try {
      item = await this.itemForNow(chosen, editor);
    } catch (error) {
      if (!(error instanceof ChoiceError)) {
        throw error;
      }
      this.output.warn(error.message);
      item = bareCommand(chosen);
    }
    const { main, additional } = editsForItem(item, editor.selection.active);
    // VS Code applies `additionalTextEdits` only to items picked from its own suggest list: apply them here.
    const applied = await editor.edit((builder) => {
      for (const edit of [main, ...additional]) {
        builder.replace(toRange(edit.range), edit.newText);
      }
    });
    if (!applied) {
      void vscode.window.showErrorMessage(`extexify: could not insert ${item.label} (the document is read-only?).`);
      return;
    }
    const { line, character } = cursorAfterEdits(main, additional);
    const cursor = new vscode.Position(line, character);
    editor.selection = new vscode.Selection(cursor, cursor);
    editor.revealRange(new vscode.Range(cursor, cursor));
    this.post({ type: "inserted" });
    void runItemCommand(this.server(), item.command ?? chosen.command, this.output);
    await vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, preserveFocus: false });
  }
}
