// The drawing pad: a canvas that records pointer strokes, asks the host to recognize them and lists the
// candidates typeset with KaTeX, each with chips for the other members of its draw-alike group.
// Transport-free: the VS Code webview and the browser pad supply `recognize` (and `glyphs`).
import katex from "katex";

import { element } from "./dom";
import {
  type CompletionItem,
  type CompletionList,
  MAX_CANDIDATES,
  MAX_GLYPH_IDS,
  type NewSymbol,
  type Point,
  type Stroke,
  type SymbolMode,
} from "./protocol";
import { createTeachForm } from "./teach";
import { cycle, describe, variantsOf } from "./variants";

export interface PadOptions {
  /** Recognize the strokes drawn so far; `signal` aborts when the answer would be stale. */
  recognize(strokes: Stroke[], signal: AbortSignal): Promise<CompletionList>;
  /**
   * Glyph images (`data:` URIs, null for none) of symbols KaTeX cannot typeset; asked once per symbol.
   * Without it such symbols show their Unicode character or their command.
   */
  glyphs?(symbolIds: string[]): Promise<Record<string, string | null>>;
  /** The user picked a candidate's shown variant (click, its number key, Enter) or a chip's. */
  onChoose(item: CompletionItem): void;
  /**
   * Teach the drawing as a symbol the candidates lack (`extexify/teach`) and answer the item inserting it
   * (see `taughtItem` in newSymbol.ts), which the pad then chooses. Without it the pad has no "Teach it" form.
   */
  teach?(strokes: Stroke[], symbol: NewSymbol): Promise<CompletionItem>;
  /** Candidates shown, at most 9 (one per number key). */
  limit?: number;
  /** Quiet time after a stroke ends before recognizing, in ms. */
  debounceMs?: number;
  /** Clear the drawing once a candidate is chosen, ready for the next symbol. */
  clearOnChoose?: boolean;
}

export interface Pad {
  clear(): void;
  undo(): void;
  /** Show an error banner; null hides it. */
  setError(message: string | null): void;
  /** Recognize the current strokes again, e.g. after the server came back. */
  refresh(): void;
  /** Repaint the drawing in the theme's ink, after the host changed its theme some other way than on <body>. */
  repaint(): void;
  focus(): void;
  readonly strokes: Stroke[];
  destroy(): void;
}

const INK_WIDTH = 3; // CSS px

export function createPad(container: HTMLElement, options: PadOptions): Pad {
  const limit = Math.min(Math.max(1, options.limit ?? MAX_CANDIDATES), MAX_CANDIDATES);
  const debounceMs = options.debounceMs ?? 200;
  const clearOnChoose = options.clearOnChoose ?? true;

  const root = element("div", "extexify-pad");
  const board = element("div", "extexify-pad__board");
  const canvas = element("canvas", "extexify-pad__canvas");
  canvas.tabIndex = 0;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "Drawing area: draw a symbol with the mouse, a pen or a finger");
  const hint = element("div", "extexify-pad__hint", "Draw a symbol here");
  board.append(canvas, hint);

  const toolbar = element("div", "extexify-pad__toolbar");
  const undoButton = button("Undo", "Undo the last stroke (Ctrl+Z, Backspace)", "undo");
  const clearButton = button("Clear", "Clear the drawing (Escape, Delete)", "clear");
  const status = element("span", "extexify-pad__status");
  status.setAttribute("aria-live", "polite");
  toolbar.append(undoButton, clearButton, status);

  const errorBanner = element("div", "extexify-pad__error");
  errorBanner.setAttribute("role", "alert");
  errorBanner.hidden = true;

  const list = element("ol", "extexify-pad__candidates");
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Candidates");

  const side = element("div", "extexify-pad__side");
  const keys = element("p", "extexify-pad__keys", "1–9 choose · ↑↓ Enter · Tab variant · Esc clear · Ctrl+Z undo");
  side.append(toolbar, errorBanner, list);
  const teachForm = options.teach ? createTeachForm({ teach: teachDrawing, typeset: typesetCommand }) : null;
  if (teachForm) side.append(teachForm.element);
  side.append(keys);
  root.append(board, side);
  container.append(root);

  const strokes: Stroke[] = [];
  let current: { pointerId: number; stroke: Stroke; origin: DOMRect } | null = null;
  let candidates: CompletionItem[] = [];
  let shown: number[] = []; // per candidate: the variant it shows (0: its label), which choosing it inserts
  let active = 0; // index of the candidate that Enter chooses and Tab cycles
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: AbortController | null = null;

  const listeners = new AbortController();
  const on = <K extends keyof HTMLElementEventMap>(
    target: HTMLElement,
    type: K,
    handler: (event: HTMLElementEventMap[K]) => void,
  ) => target.addEventListener(type, handler, { signal: listeners.signal });

  // --- drawing -------------------------------------------------------------------------------------

  function pointAt(event: PointerEvent, origin: DOMRect): Point {
    return [round(event.clientX - origin.left), round(event.clientY - origin.top), round(event.timeStamp)];
  }

  on(canvas, "pointerdown", (event) => {
    if (current || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    canvas.focus({ preventScroll: true, focusVisible: false });
    canvas.setPointerCapture(event.pointerId);
    cancelRecognition();
    markStale();
    const origin = canvas.getBoundingClientRect();
    current = { pointerId: event.pointerId, stroke: [pointAt(event, origin)], origin };
    strokes.push(current.stroke);
    hint.hidden = true;
    readInk();
    drawDot(current.stroke[0]);
  });

  on(canvas, "pointermove", (event) => {
    if (!current || event.pointerId !== current.pointerId) return;
    const samples = event.getCoalescedEvents?.() ?? [];
    for (const sample of samples.length > 0 ? samples : [event]) {
      const point = pointAt(sample, current.origin);
      const last = current.stroke[current.stroke.length - 1];
      if (point[0] === last[0] && point[1] === last[1]) continue;
      current.stroke.push(point);
      drawSegment(last, point);
    }
  });

  const endStroke = (event: PointerEvent) => {
    if (!current || event.pointerId !== current.pointerId) return;
    current = null;
    scheduleRecognition(debounceMs);
  };
  on(canvas, "pointerup", endStroke);
  on(canvas, "pointercancel", endStroke);

  const context = canvas.getContext("2d");
  if (!context) throw new Error("extexify pad: this browser cannot draw on a 2D canvas");
  const ctx = context;

  // The ink colour is a CSS variable of the theme, read once per stroke and on every repaint.
  let ink = "#000";
  const readInk = () => {
    ink = getComputedStyle(root).getPropertyValue("--pad-ink").trim() || "#000";
  };

  function inkStyle(): void {
    ctx.strokeStyle = ctx.fillStyle = ink;
    ctx.lineWidth = INK_WIDTH;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
  }

  function drawDot([x, y]: Point): void {
    inkStyle();
    ctx.beginPath();
    ctx.arc(x, y, INK_WIDTH / 2, 0, 2 * Math.PI);
    ctx.fill();
  }

  function drawSegment(from: Point, to: Point): void {
    inkStyle();
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
  }

  function redraw(): void {
    readInk();
    const ratio = window.devicePixelRatio || 1;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    for (const stroke of strokes) {
      drawDot(stroke[0]);
      for (let i = 1; i < stroke.length; i++) drawSegment(stroke[i - 1], stroke[i]);
    }
    hint.hidden = strokes.length > 0;
  }

  // The backing store follows the CSS size and the device pixel ratio so the ink stays sharp.
  const resizeObserver = new ResizeObserver(() => {
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(canvas.clientWidth * ratio);
    canvas.height = Math.round(canvas.clientHeight * ratio);
    redraw();
  });
  resizeObserver.observe(canvas);

  // Repaint in the new ink colour when the host's theme changes.
  const colorScheme = window.matchMedia("(prefers-color-scheme: dark)");
  colorScheme.addEventListener("change", redraw, { signal: listeners.signal });
  const themeObserver = new MutationObserver(redraw);
  themeObserver.observe(document.body, { attributes: true, attributeFilter: ["class", "style"] });

  // --- recognition ---------------------------------------------------------------------------------

  function cancelRecognition(): void {
    clearTimeout(timer);
    timer = undefined;
    inFlight?.abort();
    inFlight = null;
    setBusy(false);
  }

  function scheduleRecognition(delay: number): void {
    cancelRecognition();
    // Mid-stroke (a refresh when the server comes back, say), wait: the stroke's end schedules it anyway,
    // and an answer for half a stroke would pass for the answer to the whole drawing.
    if (strokes.length === 0 || current) return;
    timer = setTimeout(() => void recognizeNow(), delay);
  }

  async function recognizeNow(): Promise<void> {
    timer = undefined;
    const controller = new AbortController();
    inFlight = controller;
    setBusy(true);
    try {
      const result = await options.recognize(
        strokes.map((stroke) => stroke.slice()),
        controller.signal,
      );
      if (controller.signal.aborted) return;
      showCandidates(result.items.slice(0, limit));
      setError(null);
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return;
      setError(error instanceof Error ? error.message : String(error));
    } finally {
      if (inFlight === controller) {
        inFlight = null;
        setBusy(false);
      }
    }
  }

  /** The candidates shown belong to a drawing that has changed: dim them until the new answer. */
  function markStale(): void {
    list.classList.toggle("extexify-pad__candidates--stale", candidates.length > 0);
  }

  function setBusy(busy: boolean): void {
    root.classList.toggle("extexify-pad--busy", busy);
    status.textContent = busy ? "Recognizing…" : "";
  }

  function setError(message: string | null): void {
    errorBanner.hidden = message === null;
    errorBanner.textContent = message ?? "";
  }

  // --- candidates ----------------------------------------------------------------------------------

  function showCandidates(items: CompletionItem[]): void {
    // Replacing the focused candidate would drop keyboard focus to the page: keep it in the pad.
    const listHadFocus = list.contains(document.activeElement);
    candidates = items;
    shown = items.map(() => 0);
    active = 0;
    list.classList.remove("extexify-pad__candidates--stale");
    list.replaceChildren(...items.map((_, index) => candidateElement(index)));
    if (items.length === 0 && strokes.length > 0) {
      list.append(element("li", "extexify-pad__empty", "No candidates"));
    }
    if (listHadFocus) (list.querySelector<HTMLElement>(".extexify-pad__candidate") ?? canvas).focus();
    requestGlyphs(items.flatMap(variantsOf));
  }

  function candidateElement(index: number): HTMLLIElement {
    const entry = element("li", "extexify-pad__candidate");
    entry.setAttribute("role", "option");
    entry.setAttribute("aria-selected", String(index === active));
    entry.tabIndex = index === active ? 0 : -1;
    entry.dataset.index = String(index);
    fillCandidate(entry, index);
    return entry;
  }

  /** The candidate's shown variant (glyph, command, package and mode), then a chip for each other member. */
  function fillCandidate(entry: HTMLElement, index: number): void {
    const variants = variantsOf(candidates[index]);
    const current = variants[shown[index]];
    const meta = describe(current);
    entry.dataset.command = current.label;
    entry.dataset.symbolId = current.data.symbolId;
    entry.dataset.variant = String(shown[index]);
    const cycling = variants.length > 1 ? `, Tab for its ${variants.length - 1} look-alikes` : "";
    entry.title = `${current.label} — ${meta} (press ${index + 1}${cycling})`;

    const head = element("span", "extexify-pad__head");
    head.append(element("code", "extexify-pad__command", current.label));
    if (variants.length > 1) {
      const chips = element("span", "extexify-pad__chips");
      chips.append(
        ...variants.flatMap((variant, i) => (i === shown[index] ? [] : [chipElement(variant, i)])),
      );
      head.append(chips);
    }
    entry.replaceChildren(
      element("span", "extexify-pad__key", String(index + 1)),
      glyphElement(current, "extexify-pad__glyph"),
      head,
      element("span", "extexify-pad__meta", meta),
    );
  }

  function chipElement(variant: CompletionItem, index: number): HTMLElement {
    const chip = glyphElement(variant, "extexify-pad__chip");
    chip.dataset.variant = String(index);
    chip.dataset.command = variant.label;
    chip.title = `${variant.label} — ${describe(variant)} (click to insert)`;
    return chip;
  }

  /** The symbol typeset by KaTeX, else its glyph from the server, else its Unicode character (or a chip's command). */
  function glyphElement(variant: CompletionItem, className: string): HTMLElement {
    const node = element("span", className);
    const typeset = typesetSymbol(variant);
    const glyph = glyphCache.get(variant.data.symbolId);
    if (typeset !== null) {
      node.innerHTML = typeset;
    } else if (glyph) {
      const image = element("img", "extexify-pad__image");
      image.src = glyph;
      image.alt = variant.data.unicode ?? variant.label;
      node.append(image);
    } else if (variant.data.unicode) {
      node.classList.add("extexify-pad__glyph--unicode");
      node.textContent = variant.data.unicode;
    } else if (className === "extexify-pad__chip") {
      // The main glyph has its command right beside it; a chip shows the command itself.
      node.classList.add("extexify-pad__glyph--command");
      node.textContent = variant.label;
    }
    return node;
  }

  /** Ask the host once for the glyphs of the symbols KaTeX cannot typeset, then show them. */
  function requestGlyphs(variants: CompletionItem[]): void {
    if (!options.glyphs) return;
    const missing = variants
      .filter((variant) => typesetSymbol(variant) === null)
      .map((variant) => variant.data.symbolId)
      .filter((id) => !glyphCache.has(id) && !glyphsAsked.has(id));
    const ids = [...new Set(missing)].slice(0, MAX_GLYPH_IDS);
    if (ids.length === 0) return;
    for (const id of ids) glyphsAsked.add(id);
    options.glyphs(ids).then(
      (glyphs) => {
        for (const id of ids) glyphCache.set(id, glyphs[id] ?? null);
        list.querySelectorAll<HTMLElement>(".extexify-pad__candidate").forEach((entry, index) => {
          if (candidates[index]) fillCandidate(entry, index);
        });
      },
      // The pad still shows the Unicode character or the command; the next answer asks again.
      () => ids.forEach((id) => glyphsAsked.delete(id)),
    );
  }

  async function teachDrawing(symbol: NewSymbol): Promise<void> {
    if (!options.teach) return;
    if (strokes.length === 0 || current) throw new Error("draw the symbol first");
    const item = await options.teach(
      strokes.map((stroke) => stroke.slice()),
      symbol,
    );
    options.onChoose(item);
    if (clearOnChoose) clear();
  }

  function choose(index: number, variant = shown[index]): void {
    const item = candidates[index];
    if (!item) return;
    options.onChoose(variantsOf(item)[variant] ?? item);
    if (clearOnChoose) clear();
  }

  /** Show the active candidate's next (`step` 1) or previous (-1) variant; false if it has no others. */
  function cycleVariant(step: number): boolean {
    const entry = list.querySelectorAll<HTMLElement>(".extexify-pad__candidate")[active];
    const count = candidates[active] ? variantsOf(candidates[active]).length : 0;
    if (!entry || count < 2) return false;
    shown[active] = cycle(shown[active], step, count);
    fillCandidate(entry, active);
    return true;
  }

  function moveActive(index: number): void {
    const entries = list.querySelectorAll<HTMLLIElement>(".extexify-pad__candidate");
    if (entries.length === 0) return;
    active = (index + entries.length) % entries.length;
    entries.forEach((entry, i) => {
      entry.tabIndex = i === active ? 0 : -1;
      entry.setAttribute("aria-selected", String(i === active));
    });
    entries[active].focus();
  }

  on(list, "click", (event) => {
    const target = event.target as HTMLElement;
    const entry = target.closest<HTMLElement>(".extexify-pad__candidate");
    const chip = target.closest<HTMLElement>(".extexify-pad__chip");
    if (!entry?.dataset.index) return;
    const index = Number(entry.dataset.index);
    if (chip?.dataset.variant) choose(index, Number(chip.dataset.variant));
    else choose(index);
  });

  // --- keyboard and buttons ------------------------------------------------------------------------

  on(undoButton, "click", () => undo());
  on(clearButton, "click", () => clear());

  on(root, "keydown", (event) => {
    // Keys typed into the teach form are the form's.
    if (teachForm?.element.contains(event.target as Node)) return;
    const onButton = (event.target as HTMLElement).tagName === "BUTTON";
    const plain = !event.ctrlKey && !event.metaKey && !event.altKey;
    const focused = (event.target as HTMLElement).closest<HTMLElement>(".extexify-pad__candidate");
    if (plain && /^[1-9]$/.test(event.key)) {
      choose(Number(event.key) - 1);
    } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
      undo();
    } else if (plain && event.key === "Backspace") {
      undo();
    } else if (plain && (event.key === "Escape" || event.key === "Delete")) {
      clear();
    } else if (plain && (event.key === "ArrowDown" || event.key === "ArrowRight")) {
      moveActive(focused ? active + 1 : active);
    } else if (plain && (event.key === "ArrowUp" || event.key === "ArrowLeft")) {
      moveActive(focused ? active - 1 : active);
    } else if (plain && event.key === "Home") {
      moveActive(0);
    } else if (plain && event.key === "End") {
      moveActive(-1);
    } else if (!onButton && !event.ctrlKey && !event.metaKey && !event.altKey && event.key === "Tab") {
      // Tab cycles the variants of the active candidate; without any (or on a button) it moves the focus.
      if (!cycleVariant(event.shiftKey ? -1 : 1)) return;
    } else if (plain && !onButton && (event.key === "Enter" || event.key === " ")) {
      choose(focused ? Number(focused.dataset.index) : active);
    } else {
      return;
    }
    event.preventDefault();
  });

  // --- public API ----------------------------------------------------------------------------------

  function clear(): void {
    cancelRecognition();
    current = null;
    strokes.length = 0;
    showCandidates([]);
    redraw();
  }

  function undo(): void {
    if (strokes.length === 0) return;
    current = null;
    strokes.pop();
    redraw();
    if (strokes.length === 0) {
      cancelRecognition();
      showCandidates([]);
    } else {
      markStale();
      scheduleRecognition(0);
    }
  }

  return {
    clear,
    undo,
    setError,
    refresh: () => scheduleRecognition(0),
    repaint: redraw,
    focus: () => canvas.focus(),
    get strokes() {
      return strokes.map((stroke) => stroke.slice());
    },
    destroy() {
      cancelRecognition();
      listeners.abort();
      resizeObserver.disconnect();
      themeObserver.disconnect();
      root.remove();
    },
  };
}

const typesetCache = new Map<string, string | null>();
// Glyph images by symbol id, for every pad on the page: the server's glyphs never change while it runs.
const glyphCache = new Map<string, string | null>();
const glyphsAsked = new Set<string>();

/** KaTeX HTML for the candidate's command, or null where KaTeX does not know it. */
function typesetSymbol(item: CompletionItem): string | null {
  return typesetCommand(item.label, item.data.mode);
}

/** KaTeX HTML for a command used in `mode`, or null where KaTeX does not know it. */
function typesetCommand(command: string, mode: SymbolMode): string | null {
  const source = mode === "text" ? `\\text{${command}}` : command;
  let html = typesetCache.get(source);
  if (html === undefined) {
    try {
      html = katex.renderToString(source, { throwOnError: true, strict: "ignore", maxExpand: 50 });
    } catch {
      html = null;
    }
    typesetCache.set(source, html);
  }
  return html;
}

function isAbortError(error: unknown): boolean {
  // Any Error: fetch and the LSP client reject with a DOMException, the VS Code webview with a plain Error.
  return error instanceof Error && error.name === "AbortError";
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function button(label: string, title: string, action: string): HTMLButtonElement {
  const node = element("button", "extexify-pad__button", label);
  node.type = "button";
  node.title = title;
  node.dataset.action = action;
  return node;
}
