// extexify for local-first web editors: the drawing pad, its LSP-over-WebSocket client, and the two wired
// to a <textarea>.
export { createPad, type Pad, type PadOptions } from "../../pad/src/pad";
export * from "../../pad/src/protocol";
export { describe, findVariant, variantsOf } from "../../pad/src/variants";
export { connectLsp, type ConnectionState, type LspClient, type LspClientOptions, LspResponseError } from "./lsp-client";
export { applyTextEdits, offsetAt, positionAt, type EditResult } from "./text-edits";
export { createTextareaPad, type TextareaPad, type TextareaPadOptions } from "./textarea-pad";
