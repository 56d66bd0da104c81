// The drawing pad: a canvas that records pointer strokes, asks the host to recognize them and lists the
// candidates typeset with KaTeX. Transport-free: the VS Code webview and the browser pad supply `recognize`.
import katex from "katex";

import { type CompletionItem, type CompletionList, MAX_CANDIDATES, type Point, type Stroke } from "./protocol";

export interface PadOptions {
  /** Recognize the strokes drawn so far; `signal` aborts when the answer would be stale. */
  recognize(strokes: Stroke[], signal: AbortSignal): Promise<CompletionList>;
  /** The user picked a candidate (click, its number key, or Enter on it). */
  onChoose(item: CompletionItem): void;
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
  const keys = element("p", "extexify-pad__keys", "1–9 choose · ↑↓ Enter · Esc clear · Ctrl+Z undo");
  side.append(toolbar, errorBanner, list, keys);
  root.append(board, side);
  container.append(root);

  const strokes: Stroke[] = [];
  let current: { pointerId: number; stroke: Stroke; origin: DOMRect } | null = null;
  let candidates: CompletionItem[] = [];
  let active = 0; // index of the candidate that Enter chooses
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
    active = 0;
    list.classList.remove("extexify-pad__candidates--stale");
    list.replaceChildren(...items.map(candidateElement));
    if (items.length === 0 && strokes.length > 0) {
      list.append(element("li", "extexify-pad__empty", "No candidates"));
    }
    if (listHadFocus) (list.querySelector<HTMLElement>(".extexify-pad__candidate") ?? canvas).focus();
  }

  function candidateElement(item: CompletionItem, index: number): HTMLLIElement {
    const entry = element("li", "extexify-pad__candidate");
    entry.setAttribute("role", "option");
    entry.setAttribute("aria-selected", String(index === active));
    entry.tabIndex = index === active ? 0 : -1;
    entry.dataset.index = String(index);
    entry.dataset.command = item.label;
    const meta = item.detail ?? [item.data.package ?? "core LaTeX", `${item.data.mode} mode`].join(" · ");
    entry.title = `${item.label} — ${meta} (press ${index + 1})`;

    const glyph = element("span", "extexify-pad__glyph");
    const typeset = typesetSymbol(item);
    if (typeset === null) {
      // KaTeX does not know the command: its Unicode character stands in, else an empty box says "no preview".
      const unicode = unicodeOf(item);
      glyph.classList.add(unicode ? "extexify-pad__glyph--unicode" : "extexify-pad__glyph--none");
      glyph.textContent = unicode ?? "";
      if (!unicode) glyph.title = "No preview for this command";
    } else {
      glyph.innerHTML = typeset;
    }
    entry.append(
      element("span", "extexify-pad__key", String(index + 1)),
      glyph,
      element("code", "extexify-pad__command", item.label),
      element("span", "extexify-pad__meta", meta),
    );
    return entry;
  }

  function choose(index: number): void {
    const item = candidates[index];
    if (!item) return;
    options.onChoose(item);
    if (clearOnChoose) clear();
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
    const entry = (event.target as HTMLElement).closest<HTMLElement>(".extexify-pad__candidate");
    if (entry?.dataset.index) choose(Number(entry.dataset.index));
  });

  // --- keyboard and buttons ------------------------------------------------------------------------

  on(undoButton, "click", () => undo());
  on(clearButton, "click", () => clear());

  on(root, "keydown", (event) => {
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

/** KaTeX HTML for the candidate's command, or null where KaTeX does not know it. */
function typesetSymbol(item: CompletionItem): string | null {
  const source = item.data.mode === "text" ? `\\text{${item.label}}` : item.label;
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

/** The symbol's Unicode character: `data.unicode`, else a `U+XXXX` code point named in the documentation. */
function unicodeOf(item: CompletionItem): string | null {
  if (item.data.unicode) return item.data.unicode;
  const docs = typeof item.documentation === "string" ? item.documentation : item.documentation?.value;
  const match = docs?.match(/U\+([0-9A-Fa-f]{4,6})/);
  return match ? String.fromCodePoint(parseInt(match[1], 16)) : null;
}

function isAbortError(error: unknown): boolean {
  // Any Error: fetch and the LSP client reject with a DOMException, the VS Code webview with a plain Error.
  return error instanceof Error && error.name === "AbortError";
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label: string, title: string, action: string): HTMLButtonElement {
  const node = element("button", "extexify-pad__button", label);
  node.type = "button";
  node.title = title;
  node.dataset.action = action;
  return node;
}
