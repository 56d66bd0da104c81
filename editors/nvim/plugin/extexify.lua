-- Commands of the extexify plugin; the language server starts from require("extexify").setup().
if vim.g.loaded_extexify then
  return
end
vim.g.loaded_extexify = true

vim.api.nvim_create_user_command("ExtexifyDraw", function()
  require("extexify").draw()
end, { desc = "extexify: draw a symbol and insert its LaTeX command" })

vim.api.nvim_create_user_command("ExtexifyTeach", function(args)
  require("extexify.pad").teach(args.fargs[1], args.fargs[2])
end, {
  nargs = "+",
  desc = "extexify: teach the drawing on the pad as a LaTeX command (\\cmd [package]) and insert it",
})
