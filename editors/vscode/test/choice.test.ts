import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ChoiceError, type ChoiceHost, fitChoice, REFIT_ATTEMPTS } from "../../pad/src/client/choice";
import type { Alternative, CompletionItem, CompletionList, Stroke, TextEdit } from "../../pad/src/protocol";
import { variantsOf } from "../../pad/src/variants";

const STROKES: Stroke[] = [
  [
    [0, 0, 0],
    [10, 10, 16],
  ],
];

function at(line: number, character: number, newText: string): TextEdit {
  return { range: { start: { line, character }, end: { line, character } }, newText };
}

const RECORD = { title: "Record choice", command: "extexify.recordChoice" };

function times(line: number): CompletionItem {
  const texttimes: Alternative = {
    symbolId: "latex:textcomp:texttimes",
    label: "\\texttimes",
    package: "textcomp",
    mode: "text",
    score: 0.2,
    unicode: "×",
    textEdit: at(line, 0, "\\text{\\texttimes}"),
    additionalTextEdits: [at(0, 23, "\n\\usepackage{textcomp}")],
    command: { ...RECORD, arguments: [{ drawingId: "7", symbolId: "latex:textcomp:texttimes" }] },
  };
  return {
    label: "\\times",
    data: { symbolId: "latex:amssymb:times", score: 0.7, package: null, mode: "math", alternatives: [texttimes] },
    textEdit: at(line, 0, "$\\times$"),
    command: { ...RECORD, arguments: [{ drawingId: "7", symbolId: "latex:amssymb:times" }] },
  };
}

/**
 * A document whose version and cursor line the host reads; each recognizeHere answers for the line the cursor
 * is on when the request goes out, and `typing` edits the document while a request is under way.
 */
function documentHost(options: { line: number; answeredLine: number; typing?: number; fails?: Error }) {
  const document = { version: 1, line: options.line };
  let typing = options.typing ?? 0;
  const asked: number[] = [];
  const host: ChoiceHost = {
    stillFits: () => document.line === options.answeredLine,
    recognizeHere: async (strokes, limit) => {
      assert.deepEqual(strokes, STROKES);
      assert.ok(limit > 0);
      asked.push(document.line);
      const answer: CompletionList = { isIncomplete: false, items: [times(document.line)] };
      if (typing > 0) {
        typing--;
        document.version++;
        document.line++;
      }
      await Promise.resolve();
      if (options.fails) throw options.fails;
      return answer;
    },
    snapshot: () => {
      const { version, line } = document;
      return () => document.version === version && document.line === line;
    },
  };
  return { host, asked, document };
}

describe("fitChoice", () => {
  it("keeps the chosen item while its edits still fit, without asking again", async () => {
    const { host, asked } = documentHost({ line: 2, answeredLine: 2 });
    const chosen = times(2);
    assert.equal(await fitChoice(chosen, STROKES, host), chosen);
    assert.deepEqual(asked, []);
  });

  it("asks again where the cursor moved and keeps the item's command", async () => {
    const { host, asked } = documentHost({ line: 5, answeredLine: 2 });
    const fitted = await fitChoice(times(2), STROKES, host);
    assert.deepEqual(asked, [5]);
    assert.deepEqual(fitted.textEdit, at(5, 0, "$\\times$"));
    assert.deepEqual(fitted.command?.arguments, [{ drawingId: "7", symbolId: "latex:amssymb:times" }]);
  });

  it("finds a chosen look-alike in the new answer, with its package line and its own command", async () => {
    const { host } = documentHost({ line: 5, answeredLine: 2 });
    const chosen = variantsOf(times(2))[1];
    assert.ok(chosen);
    const fitted = await fitChoice(chosen, STROKES, host);
    assert.equal(fitted.label, "\\texttimes");
    assert.deepEqual(fitted.textEdit, at(5, 0, "\\text{\\texttimes}"));
    assert.deepEqual(fitted.additionalTextEdits, [at(0, 23, "\n\\usepackage{textcomp}")]);
    assert.deepEqual(fitted.command?.arguments, [{ drawingId: "7", symbolId: "latex:textcomp:texttimes" }]);
  });

  it("asks again while the user types during the request, and uses the answer that came for a still document", async () => {
    const { host, asked } = documentHost({ line: 5, answeredLine: 2, typing: REFIT_ATTEMPTS - 1 });
    const fitted = await fitChoice(times(2), STROKES, host);
    assert.deepEqual(asked, [5, 6, 7]);
    assert.deepEqual(fitted.textEdit, at(7, 0, "$\\times$"));
  });

  it("gives up with a ChoiceError when the document keeps changing", async () => {
    const { host, asked } = documentHost({ line: 5, answeredLine: 2, typing: REFIT_ATTEMPTS });
    await assert.rejects(fitChoice(times(2), STROKES, host), (error: unknown) => {
      assert.ok(error instanceof ChoiceError);
      assert.match(error.message, /^Could not insert \\times: the document kept changing during 3 requests$/);
      return true;
    });
    assert.equal(asked.length, REFIT_ATTEMPTS);
  });

  it("turns a failed request into a ChoiceError naming the symbol and the reason", async () => {
    const { host } = documentHost({ line: 5, answeredLine: 2, fails: new Error("the server is not running") });
    await assert.rejects(fitChoice(times(2), STROKES, host), (error: unknown) => {
      assert.ok(error instanceof ChoiceError);
      assert.equal(error.message, "Could not insert \\times: the server is not running");
      return true;
    });
  });

  it("falls back to the bare command when the new answer lacks the symbol", async () => {
    const { host } = documentHost({ line: 5, answeredLine: 2 });
    const other: CompletionItem = { ...times(2), label: "\\otimes", data: { ...times(2).data, symbolId: "x:otimes" } };
    const fitted = await fitChoice(other, STROKES, host);
    assert.equal(fitted.label, "\\otimes");
    assert.equal(fitted.textEdit, undefined);
    assert.equal(fitted.additionalTextEdits, undefined);
    assert.deepEqual(fitted.command, other.command);
  });

  it("without a snapshot, takes the first new answer as it is", async () => {
    const { host, asked } = documentHost({ line: 5, answeredLine: 2, typing: 1 });
    const fitted = await fitChoice(times(2), STROKES, { ...host, snapshot: undefined });
    assert.deepEqual(asked, [5]);
    assert.deepEqual(fitted.textEdit, at(5, 0, "$\\times$"));
  });
});
