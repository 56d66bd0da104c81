-- The custom JSON-RPC methods of extexify-lsp (mirrors extexify_lsp/protocol.py).
return {
  RECOGNIZE_STROKES = "extexify/recognizeStrokes",
}
