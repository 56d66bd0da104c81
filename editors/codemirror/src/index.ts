// extexify for CodeMirror 6: `extexify({server, documentUri})` adds the drawing pad, completion and hover.
export { extexify, type ExtexifyConfig, setPadOpen } from "./extension";
export type { ConnectionState } from "../../pad/src/client/socket";
