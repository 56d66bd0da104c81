-- Neovim config for the tests: the plugin from this checkout, the server command from the environment.
vim.opt.runtimepath:prepend(os.getenv("EXTEXIFY_PLUGIN_DIR"))
vim.opt.swapfile = false
require("extexify").setup({ cmd = vim.split(os.getenv("EXTEXIFY_LSP_CMD"), "\t", { plain = true }) })
