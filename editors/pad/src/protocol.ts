// The extexify LSP extension as TypeScript types: the one place the custom method names are spelled for TS.
// Mirrors extexify_lsp/protocol.py; the standard LSP parts are the subset the clients use.

/** Custom request: recognize a drawing, answered with a ranked `CompletionList`. */
export const RECOGNIZE_STROKES = "extexify/recognizeStrokes";
/** Custom request: glyph images of symbols, for those KaTeX cannot typeset. */
export const GLYPHS = "extexify/glyphs";
/** Custom request: store the drawing as a sample of a known or a new symbol (the user's sample store). */
export const TEACH = "extexify/teach";
/** Custom request: remove one stored sample, or all samples of a symbol (and the symbol, if the user's). */
export const FORGET = "extexify/forget";
/** Custom request: the user's symbols and the model's symbols with stored samples. */
export const TAUGHT = "extexify/taught";
/** Workspace command (run with `workspace/executeCommand`): every item's `command`, run once it is inserted. */
export const RECORD_CHOICE = "extexify.recordChoice";
/** LSP `RequestFailed`: e.g. teaching while personalization is off (the message says why). */
export const REQUEST_FAILED = -32803;
/** A command a user may teach: a control word (`\mycirc`) or a control symbol (`\{`). */
export const COMMAND_PATTERN = /^\\(?:[A-Za-z]+|[^A-Za-z\s])$/;
/** A package name a taught symbol may need. */
export const PACKAGE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** The most characters of a taught command or package name. */
export const MAX_NAME = 64;
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

/** A symbol to teach: `command` at most MAX_NAME characters matching COMMAND_PATTERN, likewise `package`. */
export interface NewSymbol {
  command: string;
  /** Absent (or "latex2e"): core LaTeX. */
  package?: string;
  /** Server default "math". */
  mode?: SymbolMode;
}

export type TeachParams = { strokes: Stroke[]; symbolId: string } | { strokes: Stroke[]; symbol: NewSymbol };

export interface TeachResult {
  sampleId: number;
  /** The model's id when it has this command and package; else the user symbol's (`user:\cmd[@package]`). */
  symbolId: string;
}

export type ForgetParams = { sampleId: number } | { symbolId: string };

export interface ForgetResult {
  removed: number;
}

export interface TaughtSymbol {
  symbolId: string;
  command: string;
  package: string | null;
  mode: SymbolMode;
  samples: number;
  /** A symbol the user taught (not one of the model's). */
  user: boolean;
}

export interface TaughtResult {
  symbols: TaughtSymbol[];
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
