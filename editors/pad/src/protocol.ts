// The extexify LSP extension as TypeScript types: the one place the custom method names are spelled for TS.
// Mirrors extexify_lsp/protocol.py; the standard LSP parts are the subset the clients use.

/** Custom request: recognize a drawing, answered with a ranked `CompletionList`. */
export const RECOGNIZE_STROKES = "extexify/recognizeStrokes";
/** Custom request: glyph images of symbols, for those KaTeX cannot typeset. */
export const GLYPHS = "extexify/glyphs";
/** The most symbols one `extexify/glyphs` request may ask for. */
export const MAX_GLYPH_IDS = 200;
/** The most candidates one request may ask for (`limit`). */
export const MAX_LIMIT = 100;
/** The most candidates a pad shows: one per number key. */
export const MAX_CANDIDATES = 9;

/** One sampled pointer position: x, y (y grows downwards) and a timestamp in milliseconds. */
export type Point = [x: number, y: number, t: number];
export type Stroke = Point[];

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface TextEdit {
  range: Range;
  newText: string;
}

export interface RecognizeStrokesParams {
  strokes: Stroke[];
  /** How many candidates to return, 1..100 (server default 10). */
  limit?: number;
  /** With `position`, asks for `textEdit`/`additionalTextEdits` fitted to this open document. */
  textDocument?: { uri: string };
  position?: Position;
  /** One item per draw-alike group, the other members in `data.alternatives` (server default true). */
  groups?: boolean;
}

export type SymbolMode = "math" | "text" | "both";

export interface SymbolData {
  symbolId: string;
  score: number;
  /** The LaTeX package providing the command; null for core LaTeX. */
  package: string | null;
  mode: SymbolMode;
  /** The symbol's Unicode character, when the server knows one. */
  unicode?: string | null;
  /** The other members of the item's draw-alike group, best first (absent from servers without groups). */
  alternatives?: Alternative[];
}

/** A member of an item's group other than its label: inserted with its own edits. */
export interface Alternative {
  symbolId: string;
  label: string;
  package: string | null;
  mode: SymbolMode;
  score: number;
  unicode: string | null;
  /** With a document and position in the request, as the item's own. */
  textEdit?: TextEdit;
  additionalTextEdits?: TextEdit[];
  /** The command to run once this member is inserted, as an item's `command`. */
  command?: Command;
}

export interface GlyphsParams {
  /** 1..MAX_GLYPH_IDS symbol ids. */
  symbolIds: string[];
}

export interface GlyphsResult {
  /** Each asked id: a `data:image/png;base64,...` URI, or null when the server has no glyph for it. */
  glyphs: Record<string, string | null>;
}

export interface MarkupContent {
  kind: "markdown" | "plaintext";
  value: string;
}

export interface Command {
  title: string;
  command: string;
  arguments?: unknown[];
}

export interface CompletionItem {
  label: string;
  kind?: number;
  detail?: string;
  documentation?: string | MarkupContent;
  sortText?: string;
  textEdit?: TextEdit;
  additionalTextEdits?: TextEdit[];
  command?: Command;
  data: SymbolData;
}

export interface CompletionList {
  isIncomplete: boolean;
  items: CompletionItem[];
}
