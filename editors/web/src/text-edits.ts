// LSP positions and text edits on a plain string (UTF-16 code units, the LSP default and JavaScript's own).
import type { Position, TextEdit } from "../../pad/src/protocol";

/** The position of a string offset. */
export function positionAt(text: string, offset: number): Position {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length - 1, character: before.length - lineStart };
}

/** The string offset of a position; positions past a line's end or the text's end are clamped. */
export function offsetAt(text: string, position: Position): number {
  let lineStart = 0;
  for (let line = 0; line < position.line; line++) {
    const newline = text.indexOf("\n", lineStart);
    if (newline === -1) return text.length;
    lineStart = newline + 1;
  }
  const lineEnd = text.indexOf("\n", lineStart);
  const lineLength = (lineEnd === -1 ? text.length : lineEnd) - lineStart;
  return lineStart + Math.min(Math.max(0, position.character), lineLength);
}

export interface EditResult {
  text: string;
  /** Where the end of `edits[0]`'s new text lands in the result. */
  cursor: number;
}

/**
 * Apply non-overlapping edits whose ranges refer to the original text, as LSP specifies; the cursor
 * goes after the new text of `edits[0]`.
 */
export function applyTextEdits(text: string, edits: TextEdit[]): EditResult {
  const spans = edits.map((edit, index) => ({
    index,
    start: offsetAt(text, edit.range.start),
    end: offsetAt(text, edit.range.end),
    newText: edit.newText,
  }));
  // Back to front keeps the earlier offsets valid; equal starts keep their given order.
  const ordered = [...spans].sort((a, b) => b.start - a.start || b.index - a.index);
  let result = text;
  for (const span of ordered) result = result.slice(0, span.start) + span.newText + result.slice(span.end);

  const target = spans[0];
  let cursor = target ? target.start + target.newText.length : result.length;
  for (const span of spans) {
    const before = span.start < (target?.start ?? 0) || (span.start === target?.start && span.index < target.index);
    if (span !== target && before) cursor += span.newText.length - (span.end - span.start);
  }
  return { text: result, cursor };
}
