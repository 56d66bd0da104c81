"""One module per LSP feature; each a plain function the server's thin handlers call."""
