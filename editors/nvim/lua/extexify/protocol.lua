-- The custom JSON-RPC methods of extexify-lsp (mirrors extexify_lsp/protocol.py).
return {
  RECOGNIZE_STROKES = "extexify/recognizeStrokes",
  TEACH = "extexify/teach",
  FORGET = "extexify/forget",
  TAUGHT = "extexify/taught",
  -- A workspace command (workspace/executeCommand): every recognized item's `command`, run once it is inserted.
  RECORD_CHOICE = "extexify.recordChoice",
  -- The most candidates one request may ask for.
  MAX_LIMIT = 100,
  -- The most characters of a taught command or package name.
  MAX_NAME = 64,
}
