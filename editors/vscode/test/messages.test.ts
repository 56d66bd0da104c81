import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { CompletionItem, CompletionList, Position, Stroke, TextEdit } from "../../pad/src/protocol";
import {
  createHostHandler,
  createHostClient,
  cursorAfterEdits,
  editsForItem,
  type Glyphs,
  type HostActions,
  type HostMessage,
  MessageError,
  parseWebviewMessage,
  type WebviewMessage,
} from "../src/messages";

const STROKES: Stroke[] = [
  [
    [0, 0, 0],
    [10, 10, 16],
  ],
];

function item(label: string, extra: Partial<CompletionItem> = {}): CompletionItem {
  return { label, data: { symbolId: label.slice(1), score: 0.5, package: null, mode: "math" }, ...extra };
}

function list(...labels: string[]): CompletionList {
  return { isIncomplete: false, items: labels.map((label) => item(label)) };
}

/** A promise with its resolve/reject exposed, for answering requests in a chosen order. */
function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: Error): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Host actions that record what the handler does; `answers` are handed out to recognize calls in order. */
function recordingHost(answers: Promise<CompletionList>[] = [], glyphs: Promise<Glyphs>[] = []) {
  const posted: HostMessage[] = [];
  const glyphsAsked: string[][] = [];
  const signals: AbortSignal[] = [];
  const chosen: CompletionItem[] = [];
  const errors: Error[] = [];
  let readies = 0;
  const actions: HostActions = {
    recognize: (_strokes, signal) => {
      signals.push(signal);
      const answer = answers.shift();
      assert.ok(answer, "more recognize calls than prepared answers");
      return answer;
    },
    glyphs: (symbolIds) => {
      glyphsAsked.push(symbolIds);
      const answer = glyphs.shift();
      assert.ok(answer, "more glyphs calls than prepared answers");
      return answer;
    },
    teach: () => Promise.reject(new Error("not taught here: see teach.test.ts")),
    choose: async (chosenItem) => {
      chosen.push(chosenItem);
    },
    ready: () => {
      readies += 1;
    },
    post: (message) => posted.push(message),
    reportError: (error) => errors.push(error),
  };
  return { actions, posted, signals, chosen, errors, glyphsAsked, readies: () => readies };
}

describe("parseWebviewMessage", () => {
  it("accepts each message type", () => {
    assert.deepEqual(parseWebviewMessage({ type: "ready" }), { type: "ready" });
    assert.deepEqual(parseWebviewMessage({ type: "recognize", id: 3, strokes: STROKES }), {
      type: "recognize",
      id: 3,
      strokes: STROKES,
    });
    assert.deepEqual(parseWebviewMessage({ type: "cancel", id: 3 }), { type: "cancel", id: 3 });
    assert.deepEqual(parseWebviewMessage({ type: "glyphs", id: 4, symbolIds: ["latex:wasysym:phone"] }), {
      type: "glyphs",
      id: 4,
      symbolIds: ["latex:wasysym:phone"],
    });
    const chosen = item("\\alpha");
    assert.deepEqual(parseWebviewMessage({ type: "choose", item: chosen }), { type: "choose", item: chosen });
  });

  it("rejects malformed messages with a message saying what is wrong", () => {
    const cases: [unknown, RegExp][] = [
      [null, /object with a string 'type'/],
      [["recognize"], /object with a string 'type'/],
      [{ type: "draw" }, /unknown webview message type 'draw'/],
      [{ type: "recognize", id: 1 }, /needs 'strokes'/],
      [{ type: "recognize", id: 1.5, strokes: [] }, /integer 'id', got 1.5/],
      [{ type: "cancel" }, /'cancel' needs an integer 'id'/],
      [{ type: "glyphs", id: 2, symbolIds: "latex:wasysym:phone" }, /'glyphs' needs 'symbolIds', an array of strings/],
      [{ type: "glyphs", id: 2, symbolIds: [1] }, /'glyphs' needs 'symbolIds', an array of strings/],
      [{ type: "glyphs", symbolIds: [] }, /'glyphs' needs an integer 'id'/],
      [{ type: "choose", item: { label: "\\alpha" } }, /'choose' needs 'item'/],
    ];
    for (const [raw, pattern] of cases) {
      assert.throws(() => parseWebviewMessage(raw), (error: unknown) => {
        assert.ok(error instanceof MessageError);
        assert.match(error.message, pattern);
        return true;
      });
    }
  });
});

describe("createHostHandler", () => {
  it("answers a recognize request with its id", async () => {
    const host = recordingHost([Promise.resolve(list("\\alpha"))]);
    await createHostHandler(host.actions).handle({ type: "recognize", id: 7, strokes: STROKES });
    assert.deepEqual(host.posted, [{ type: "result", id: 7, list: list("\\alpha") }]);
  });

  it("supersedes a request in flight: only the newer one is answered", async () => {
    const first = deferred<CompletionList>();
    const second = deferred<CompletionList>();
    const host = recordingHost([first.promise, second.promise]);
    const handler = createHostHandler(host.actions);
    const firstDone = handler.handle({ type: "recognize", id: 1, strokes: STROKES });
    const secondDone = handler.handle({ type: "recognize", id: 2, strokes: STROKES });
    assert.equal(host.signals[0].aborted, true);
    assert.equal(host.signals[1].aborted, false);
    second.resolve(list("\\beta"));
    first.resolve(list("\\alpha"));
    await Promise.all([firstDone, secondDone]);
    assert.deepEqual(host.posted, [{ type: "result", id: 2, list: list("\\beta") }]);
  });

  it("cancels on request and stays silent about the cancelled request", async () => {
    const answer = deferred<CompletionList>();
    const host = recordingHost([answer.promise]);
    const handler = createHostHandler(host.actions);
    const done = handler.handle({ type: "recognize", id: 4, strokes: STROKES });
    await handler.handle({ type: "cancel", id: 4 });
    assert.equal(host.signals[0].aborted, true);
    answer.reject(new Error("Request got cancelled"));
    await done;
    assert.deepEqual(host.posted, []);
  });

  it("passes a failure on as an error for that request", async () => {
    const host = recordingHost([Promise.reject(new Error("strokes[0]: a stroke needs at least one point"))]);
    await createHostHandler(host.actions).handle({ type: "recognize", id: 9, strokes: [[]] });
    assert.deepEqual(host.posted, [{ type: "error", id: 9, message: "strokes[0]: a stroke needs at least one point" }]);
  });

  it("cancelAll aborts everything in flight, e.g. when the panel closes", async () => {
    const answer = deferred<CompletionList>();
    const host = recordingHost([answer.promise]);
    const handler = createHostHandler(host.actions);
    const done = handler.handle({ type: "recognize", id: 1, strokes: STROKES });
    handler.cancelAll();
    assert.equal(host.signals[0].aborted, true);
    answer.resolve(list("\\alpha"));
    await done;
    assert.deepEqual(host.posted, []);
  });

  it("answers a glyphs request with its id, or its failure as an error, without cancelling a recognize", async () => {
    const recognized = deferred<CompletionList>();
    const phone = "data:image/png;base64,iVBORw0KGgo=";
    const host = recordingHost(
      [recognized.promise],
      [Promise.resolve({ "latex:wasysym:phone": phone, "latex:x:none": null }), Promise.reject(new Error("no glyphs"))],
    );
    const handler = createHostHandler(host.actions);
    const recognizing = handler.handle({ type: "recognize", id: 1, strokes: STROKES });
    await handler.handle({ type: "glyphs", id: 2, symbolIds: ["latex:wasysym:phone", "latex:x:none"] });
    await handler.handle({ type: "glyphs", id: 3, symbolIds: ["latex:wasysym:phone"] });
    assert.equal(host.signals[0].aborted, false);
    recognized.resolve(list("\\phone"));
    await recognizing;
    assert.deepEqual(host.glyphsAsked, [["latex:wasysym:phone", "latex:x:none"], ["latex:wasysym:phone"]]);
    assert.deepEqual(host.posted, [
      { type: "glyphs", id: 2, glyphs: { "latex:wasysym:phone": phone, "latex:x:none": null } },
      { type: "error", id: 3, message: "no glyphs" },
      { type: "result", id: 1, list: list("\\phone") },
    ]);
  });

  it("hands choose and ready to the host and reports malformed messages", async () => {
    const host = recordingHost();
    const handler = createHostHandler(host.actions);
    await handler.handle({ type: "ready" });
    await handler.handle({ type: "choose", item: item("\\leqslant") });
    await handler.handle({ type: "recognize", id: "x", strokes: [] });
    assert.equal(host.readies(), 1);
    assert.deepEqual(
      host.chosen.map((chosen) => chosen.label),
      ["\\leqslant"],
    );
    assert.equal(host.errors.length, 1);
    assert.match(host.errors[0].message, /integer 'id'/);
    assert.deepEqual(host.posted, []);
  });
});

describe("createHostClient", () => {
  it("posts a request and resolves it from the host's answer with the same id", async () => {
    const sent: WebviewMessage[] = [];
    const client = createHostClient((message) => sent.push(message));
    const first = client.recognize(STROKES, new AbortController().signal);
    const second = client.recognize(STROKES, new AbortController().signal);
    assert.deepEqual(
      sent.map((message) => message.type === "recognize" && message.id),
      [1, 2],
    );
    client.receive({ type: "result", id: 2, list: list("\\beta") });
    client.receive({ type: "error", id: 1, message: "the model is not loaded" });
    assert.deepEqual(await second, list("\\beta"));
    await assert.rejects(first, { message: "the model is not loaded" });
  });

  it("tells the host to cancel when the pad aborts, and rejects with an AbortError", async () => {
    const sent: WebviewMessage[] = [];
    const client = createHostClient((message) => sent.push(message));
    const controller = new AbortController();
    const pending = client.recognize(STROKES, controller.signal);
    controller.abort();
    await assert.rejects(pending, { name: "AbortError" });
    assert.deepEqual(sent[1], { type: "cancel", id: 1 });
    // A late answer for the cancelled request is ignored.
    client.receive({ type: "result", id: 1, list: list("\\alpha") });
  });

  it("does not send a request whose signal is already aborted", async () => {
    const sent: WebviewMessage[] = [];
    const client = createHostClient((message) => sent.push(message));
    await assert.rejects(client.recognize(STROKES, AbortSignal.abort()), { name: "AbortError" });
    assert.deepEqual(sent, []);
  });

  it("asks for glyphs in the same id sequence and resolves them from the host's answer", async () => {
    const sent: WebviewMessage[] = [];
    const client = createHostClient((message) => sent.push(message));
    const recognized = client.recognize(STROKES, new AbortController().signal);
    const glyphs = client.glyphs(["latex:wasysym:phone"]);
    const failed = client.glyphs(["latex:x:none"]);
    assert.deepEqual(sent[1], { type: "glyphs", id: 2, symbolIds: ["latex:wasysym:phone"] });
    client.receive({ type: "glyphs", id: 2, glyphs: { "latex:wasysym:phone": null } });
    client.receive({ type: "error", id: 3, message: "extexify-lsp is not running" });
    // An answer of the wrong kind is the host's bug: it rejects rather than pass for the other kind.
    client.receive({ type: "glyphs", id: 1, glyphs: {} });
    assert.deepEqual(await glyphs, { "latex:wasysym:phone": null });
    await assert.rejects(failed, { message: "extexify-lsp is not running" });
    await assert.rejects(recognized, /answered a recognize request with 'glyphs'/);
  });

  it("works end to end with the host handler, superseding included", async () => {
    const first = deferred<CompletionList>();
    const host = recordingHost([first.promise, Promise.resolve(list("\\beta"))]);
    const handler = createHostHandler(host.actions);
    const pending: Promise<void>[] = [];
    // The webview and the host talk through structured-clone messages, as in VS Code.
    const client = createHostClient((message) => pending.push(handler.handle(structuredClone(message))));
    host.actions.post = (message) => client.receive(structuredClone(message));
    const stale = new AbortController();
    const firstAnswer = client.recognize(STROKES, stale.signal);
    stale.abort();
    const secondAnswer = client.recognize(STROKES, new AbortController().signal);
    first.resolve(list("\\alpha"));
    await Promise.all(pending);
    await assert.rejects(firstAnswer, { name: "AbortError" });
    assert.deepEqual(await secondAnswer, list("\\beta"));
  });
});

function offsetIn(text: string, position: Position): number {
  const lines = text.split("\n");
  return lines.slice(0, position.line).reduce((sum, line) => sum + line.length + 1, 0) + position.character;
}

/** Applies LSP edits (positions in the original text) to `text`, as an editor does. */
function applyEdits(text: string, edits: TextEdit[]): string {
  const offset = (position: Position): number => offsetIn(text, position);
  return [...edits]
    .sort((a, b) => offset(b.range.start) - offset(a.range.start))
    .reduce(
      (result, edit) => result.slice(0, offset(edit.range.start)) + edit.newText + result.slice(offset(edit.range.end)),
      text,
    );
}

const at = (line: number, character: number): Position => ({ line, character });

describe("editsForItem and cursorAfterEdits", () => {
  const document = "\\documentclass{article}\n\\begin{document}\nSo $x  y$.\n\\end{document}\n";

  it("without server edits inserts the command at the cursor and puts the cursor after it", () => {
    const { main, additional } = editsForItem(item("\\leqslant"), at(2, 6));
    const edited = applyEdits(document, [main, ...additional]);
    assert.equal(edited.split("\n")[2], "So $x \\leqslant y$.");
    assert.equal(edited.slice(0, offsetIn(edited, cursorAfterEdits(main, additional))), "\\documentclass{article}\n\\begin{document}\nSo $x \\leqslant");
  });

  it("applies the server's textEdit and the \\usepackage line, and places the cursor after the command", () => {
    const chosen = item("\\leqslant", {
      textEdit: { range: { start: at(2, 3), end: at(2, 3) }, newText: "$\\leqslant$" },
      additionalTextEdits: [{ range: { start: at(1, 0), end: at(1, 0) }, newText: "\\usepackage{amssymb}\n" }],
    });
    const { main, additional } = editsForItem(chosen, at(2, 3));
    const edited = applyEdits("\\documentclass{article}\n\\begin{document}\nSo  is less.\n", [main, ...additional]);
    assert.equal(edited, "\\documentclass{article}\n\\usepackage{amssymb}\n\\begin{document}\nSo $\\leqslant$ is less.\n");
    const cursor = cursorAfterEdits(main, additional);
    assert.deepEqual(cursor, at(3, 14));
    assert.equal(edited.slice(offsetIn(edited, cursor)), " is less.\n");
  });

  it("shifts the cursor by edits earlier on the same line and ignores edits after it", () => {
    const main: TextEdit = { range: { start: at(0, 6), end: at(0, 6) }, newText: "\\alpha" };
    const additional: TextEdit[] = [
      { range: { start: at(0, 0), end: at(0, 2) }, newText: "ab\ncd" },
      { range: { start: at(0, 8), end: at(0, 8) }, newText: "\n\n\n" },
    ];
    const text = "xxyyzz1234";
    const edited = applyEdits(text, [main, ...additional]);
    const cursor = cursorAfterEdits(main, additional);
    assert.equal(edited.slice(0, offsetIn(edited, cursor)), "ab\ncdyyzz\\alpha");
  });

  it("handles replaced ranges and multi-line inserted text", () => {
    const main: TextEdit = { range: { start: at(1, 1), end: at(1, 4) }, newText: "\\[\n\\sum\n" };
    const additional: TextEdit[] = [{ range: { start: at(0, 0), end: at(1, 0) }, newText: "" }];
    const text = "first\nxABCy\nlast";
    const edited = applyEdits(text, [main, ...additional]);
    const cursor = cursorAfterEdits(main, additional);
    assert.equal(edited, "x\\[\n\\sum\ny\nlast");
    assert.equal(edited.slice(offsetIn(edited, cursor)), "y\nlast");
  });
});
