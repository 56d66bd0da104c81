import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Alternative, CompletionItem, TextEdit } from "../../pad/src/protocol";
import { cycle, describe as describeSymbol, findVariant, variantsOf } from "../../pad/src/variants";

const AT_CURSOR = { start: { line: 2, character: 6 }, end: { line: 2, character: 6 } };
const PREAMBLE_END = { start: { line: 0, character: 23 }, end: { line: 0, character: 23 } };

function edit(newText: string, range = AT_CURSOR): TextEdit {
  return { range, newText };
}

const texttimes: Alternative = {
  symbolId: "latex:textcomp:texttimes",
  label: "\\texttimes",
  package: "textcomp",
  mode: "text",
  score: 0.2,
  unicode: "×",
  textEdit: edit("\\text{\\texttimes}"),
  additionalTextEdits: [edit("\n\\usepackage{textcomp}\n\\usepackage{amsmath}", PREAMBLE_END)],
  command: {
    title: "Record choice",
    command: "extexify.recordChoice",
    arguments: [{ drawingId: "7", symbolId: "latex:textcomp:texttimes" }],
  },
};

const times: CompletionItem = {
  label: "\\times",
  detail: "core LaTeX · math mode",
  textEdit: edit("\\times"),
  additionalTextEdits: [],
  data: {
    symbolId: "latex:latex2e:times",
    score: 0.7,
    package: null,
    mode: "math",
    unicode: "×",
    alternatives: [
      texttimes,
      { symbolId: "latex:x:cross", label: "\\cross", package: "x", mode: "both", score: 0.1, unicode: null },
    ],
  },
};

const alpha: CompletionItem = {
  label: "\\alpha",
  data: { symbolId: "latex:latex2e:alpha", score: 0.2, package: null, mode: "math", unicode: "α", alternatives: [] },
};

describe("variantsOf", () => {
  it("lists the item, then each alternative as an item with its own edits, command and no alternatives", () => {
    const [first, second, third] = variantsOf(times);
    assert.equal(first, times);
    assert.deepEqual(second, {
      label: "\\texttimes",
      textEdit: texttimes.textEdit,
      additionalTextEdits: texttimes.additionalTextEdits,
      command: texttimes.command,
      data: {
        symbolId: "latex:textcomp:texttimes",
        package: "textcomp",
        mode: "text",
        score: 0.2,
        unicode: "×",
        alternatives: [],
      },
    });
    // Recognized for no document: no edits, and none invented (the host inserts the label).
    assert.equal(third.label, "\\cross");
    assert.equal("textEdit" in third, false);
    assert.equal("additionalTextEdits" in third, false);
  });

  it("gives a lone item, or one from a server without groups, as its only variant", () => {
    assert.deepEqual(variantsOf(alpha), [alpha]);
    const flat: CompletionItem = {
      label: "\\alpha",
      data: { symbolId: "latex:latex2e:alpha", score: 0.2, package: null, mode: "math" },
    };
    assert.deepEqual(variantsOf(flat), [flat]);
  });
});

describe("findVariant", () => {
  it("finds a label or an alternative by symbol id across the items", () => {
    assert.equal(findVariant([alpha, times], "latex:latex2e:times"), times);
    assert.equal(findVariant([alpha, times], "latex:textcomp:texttimes")?.textEdit?.newText, "\\text{\\texttimes}");
    assert.equal(findVariant([alpha, times], "latex:amssymb:bigstar"), undefined);
  });
});

describe("describe", () => {
  it("prefers the server's detail and words the data like the server otherwise", () => {
    const [main, text, both] = variantsOf(times);
    assert.equal(describeSymbol(main), "core LaTeX · math mode");
    assert.equal(describeSymbol(text), "textcomp · text mode");
    assert.equal(describeSymbol(both), "x · math or text mode");
    assert.equal(describeSymbol(alpha), "core LaTeX · math mode");
  });
});

describe("cycle", () => {
  it("steps forwards and backwards through the variants, wrapping around", () => {
    assert.deepEqual(
      [cycle(0, 1, 3), cycle(2, 1, 3), cycle(0, -1, 3), cycle(1, -1, 3)],
      [1, 0, 2, 0],
    );
    assert.equal(cycle(0, 1, 1), 0);
    assert.equal(cycle(0, 1, 0), 0);
  });
});
