from extexify_lsp.cli import main

main()
