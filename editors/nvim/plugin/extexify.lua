-- Commands of the extexify plugin; the language server starts from require("extexify").setup().
if vim.g.loaded_extexify then
  return
end
vim.g.loaded_extexify = true

vim.api.nvim_create_user_command("ExtexifyDraw", function()
  require("extexify").draw()
end, { desc = "extexify: draw a symbol and insert its LaTeX command" })
