import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";

import { findExecutable } from "../src/serverCommand";

const tempRoot = mkdtempSync(path.join(tmpdir(), "extexify-vscode-"));
after(() => rmSync(tempRoot, { recursive: true, force: true }));

function tempTree(): { root: string; bin: string; other: string } {
  const root = mkdtempSync(path.join(tempRoot, "tree-"));
  const bin = path.join(root, "bin");
  const other = path.join(root, "other");
  mkdirSync(bin);
  mkdirSync(other);
  return { root, bin, other };
}

function script(file: string, mode: number): string {
  writeFileSync(file, "#!/bin/sh\n");
  chmodSync(file, mode);
  return file;
}

describe("findExecutable", { skip: process.platform === "win32" && "POSIX file modes" }, () => {
  it("finds the first executable of that name on PATH", () => {
    const { bin, other } = tempTree();
    script(path.join(other, "extexify-lsp"), 0o644);
    const expected = script(path.join(bin, "extexify-lsp"), 0o755);
    assert.equal(findExecutable("extexify-lsp", { PATH: `${other}:${bin}` }, "linux"), expected);
  });

  it("is undefined when nothing on PATH matches", () => {
    const { bin } = tempTree();
    script(path.join(bin, "other-server"), 0o755);
    mkdirSync(path.join(bin, "extexify-lsp"));
    assert.equal(findExecutable("extexify-lsp", { PATH: bin }, "linux"), undefined);
    assert.equal(findExecutable("extexify-lsp", {}, "linux"), undefined);
  });

  it("takes a path with a directory as it is, without searching PATH", () => {
    const { root, bin } = tempTree();
    const server = script(path.join(root, "extexify-lsp"), 0o755);
    script(path.join(bin, "extexify-lsp"), 0o755);
    assert.equal(findExecutable(server, { PATH: bin }, "linux"), server);
    assert.equal(findExecutable(path.join(root, "missing", "extexify-lsp"), { PATH: bin }, "linux"), undefined);
  });

  it("tries the PATHEXT extensions on Windows", () => {
    const { bin } = tempTree();
    const expected = script(path.join(bin, "extexify-lsp.EXE"), 0o755);
    assert.equal(findExecutable("extexify-lsp", { PATH: bin, PATHEXT: ".COM;.EXE" }, "win32"), expected);
  });
});
