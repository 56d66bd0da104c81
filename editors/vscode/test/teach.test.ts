import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { commandProblem, packageProblem, taughtItem } from "../../pad/src/newSymbol";
import type { CompletionItem, NewSymbol, Stroke, TaughtSymbol } from "../../pad/src/protocol";
import {
  createHostClient,
  createHostHandler,
  type HostMessage,
  parseWebviewMessage,
  type WebviewMessage,
} from "../src/messages";
import { forgetQuestion, taughtEntries } from "../src/taught";

const STROKES: Stroke[] = [
  [
    [0, 0, 0],
    [10, 10, 16],
  ],
];
const RECORD = { title: "Record choice", command: "extexify.recordChoice", arguments: [{ drawingId: "d1" }] };
const MYCIRC: NewSymbol = { command: "\\mycirc", package: "mypkg", mode: "math" };

describe("commandProblem and packageProblem", () => {
  it("accept control words, control symbols and package names as the server does", () => {
    for (const command of ["\\mycirc", "\\R", "\\{", "\\$", "\\,"]) assert.equal(commandProblem(command), null, command);
    for (const name of ["", "stmaryrd", "mathtools", "my-pkg_2"]) assert.equal(packageProblem(name), null, name);
  });

  it("say what is wrong with anything else", () => {
    assert.match(commandProblem("") ?? "", /Type the command/);
    assert.match(commandProblem("mycirc") ?? "", /starts with a backslash: \\mycirc/);
    for (const command of ["\\my circ", "\\a1", "\\", "\\ ", "\\ab{}"]) {
      assert.match(commandProblem(command) ?? "", /backslash and letters/, command);
    }
    assert.match(commandProblem(`\\${"a".repeat(64)}`) ?? "", /At most 64/);
    for (const name of ["-x", "my pkg", "a.sty", "{x}"]) assert.match(packageProblem(name) ?? "", /letters, digits/, name);
    assert.match(packageProblem("p".repeat(65)) ?? "", /At most 64/);
  });
});

describe("taughtItem", () => {
  it("is the server's item for the taught symbol, without its recordChoice command", () => {
    const usepackage = { range: { start: { line: 0, character: 23 }, end: { line: 0, character: 23 } }, newText: "\n\\usepackage{mypkg}" };
    const listed: CompletionItem = {
      label: "\\mycirc",
      textEdit: { range: { start: { line: 2, character: 4 }, end: { line: 2, character: 4 } }, newText: "\\mycirc" },
      additionalTextEdits: [usepackage],
      command: RECORD,
      data: { symbolId: "user:\\mycirc@mypkg", score: 0.9, package: "mypkg", mode: "math", alternatives: [] },
    };
    const other: CompletionItem = { label: "\\circ", command: RECORD, data: { symbolId: "latex:latex2e:circ", score: 0.1, package: null, mode: "math" } };
    const item = taughtItem({ sampleId: 4, symbolId: "user:\\mycirc@mypkg" }, MYCIRC, [other, listed]);
    assert.equal(item.command, undefined);
    assert.deepEqual(item.additionalTextEdits, [usepackage]);
    assert.equal(item.textEdit, listed.textEdit);
  });

  it("is the bare command where the server does not list the symbol", () => {
    const item = taughtItem({ sampleId: 4, symbolId: "user:\\mycirc@mypkg" }, MYCIRC, []);
    assert.deepEqual(item, {
      label: "\\mycirc",
      data: { symbolId: "user:\\mycirc@mypkg", score: 0, package: "mypkg", mode: "math", unicode: null, alternatives: [] },
    });
  });
});

describe("teach messages", () => {
  it("parses a teach message and rejects a malformed one", () => {
    const message = { type: "teach", id: 5, strokes: STROKES, symbol: MYCIRC };
    assert.deepEqual(parseWebviewMessage(message), message);
    assert.throws(() => parseWebviewMessage({ type: "teach", id: 5, strokes: STROKES }), /'teach' needs/);
    assert.throws(() => parseWebviewMessage({ type: "teach", id: 5, strokes: STROKES, symbol: { command: 3 } }), /'teach' needs/);
    assert.throws(() => parseWebviewMessage({ type: "teach", strokes: STROKES, symbol: MYCIRC }), /integer 'id'/);
  });

  it("round trips from the pad's teach call to the host's and back, failures included", async () => {
    const taught: CompletionItem = {
      label: "\\mycirc",
      data: { symbolId: "user:\\mycirc@mypkg", score: 0, package: "mypkg", mode: "math" },
    };
    const calls: [Stroke[], NewSymbol][] = [];
    let answer: Promise<CompletionItem> = Promise.resolve(taught);
    const unused = () => Promise.reject(new Error("unused"));
    const handler = createHostHandler({
      recognize: unused,
      glyphs: unused,
      choose: unused,
      teach: (strokes, symbol) => {
        calls.push([strokes, symbol]);
        return answer;
      },
      ready: () => undefined,
      post: (message: HostMessage) => client.receive(message),
      reportError: (error) => assert.fail(error),
    });
    const client = createHostClient((message: WebviewMessage) => void handler.handle(message));
    assert.deepEqual(await client.teach(STROKES, MYCIRC), taught);
    assert.deepEqual(calls, [[STROKES, MYCIRC]]);

    answer = Promise.reject(new Error("personalization is off: --store none"));
    await assert.rejects(client.teach(STROKES, MYCIRC), /personalization is off: --store none/);
  });
});

describe("taughtEntries and forgetQuestion", () => {
  const symbols: TaughtSymbol[] = [
    { symbolId: "latex:latex2e:alpha", command: "\\alpha", package: null, mode: "math", samples: 5, user: false },
    { symbolId: "user:\\mycirc@mypkg", command: "\\mycirc", package: "mypkg", mode: "both", samples: 1, user: true },
    { symbolId: "latex:amssymb:bigstar", command: "\\bigstar", package: "amssymb", mode: "math", samples: 7, user: false },
  ];

  it("lists the user's symbols first, then the most sampled, with package, mode and sample count", () => {
    const entries = taughtEntries(symbols);
    assert.deepEqual(
      entries.map(({ label, description }) => [label, description]),
      [
        ["\\mycirc", "mypkg · math or text mode"],
        ["\\bigstar", "amssymb · math mode"],
        ["\\alpha", "core LaTeX · math mode"],
      ],
    );
    assert.match(entries[0].detail, /^1 sample · taught by you$/);
    assert.match(entries[1].detail, /^7 samples · of the model's symbol/);
    assert.equal(entries[2].symbol, symbols[0]);
  });

  it("asks whether the symbol itself goes (the user's) or only the samples (the model's)", () => {
    assert.match(forgetQuestion(symbols[1]), /Forget \\mycirc\? Your 1 sample of \\mycirc and the symbol itself/);
    assert.match(forgetQuestion(symbols[0]), /Forget your 5 samples of \\alpha\? The model still knows \\alpha/);
  });
});
