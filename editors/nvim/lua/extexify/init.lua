-- extexify for Neovim: draw a LaTeX symbol, get the command, from extexify-lsp.
--
-- Supports Neovim 0.7 (no vim.lsp.start, client functions called with a dot) through current
-- releases (vim.lsp.start, client methods called with a colon).
local protocol = require("extexify.protocol")

local M = {}

-- vim.uv since Neovim 0.10, vim.loop before.
local uv = vim.uv or vim.loop

local INSTALL_HINT = "install extexify (`make install` or `pip install .` in its repository)"

local defaults = {
  -- The language server command and its arguments.
  cmd = { "extexify-lsp" },
  -- Buffers of these filetypes get the server attached (completion and hover in LaTeX files).
  filetypes = { "tex", "plaintex" },
  autostart = true,
  -- How many candidates the pad asks for and lists (keys 1-9 choose them).
  limit = 9,
  -- Wait this long after a stroke before asking the server, so fast multi-stroke drawing sends one request.
  debounce_ms = 120,
  -- How long a request may wait for the server to finish starting.
  start_timeout_ms = 60000,
}

M.config = vim.deepcopy(defaults)

local client_id = nil
local warned_missing = false
local has_client_methods = vim.fn.has("nvim-0.11") == 1

-- Call a vim.lsp client function: a method since Neovim 0.11, a plain function field before.
local function client_call(client, name, ...)
  if has_client_methods then
    return client[name](client, ...)
  end
  return client[name](...)
end

--- The running extexify client, or nil.
function M.client()
  local client = client_id and vim.lsp.get_client_by_id(client_id)
  if client and not client_call(client, "is_stopped") then
    return client
  end
  return nil
end

local function server_config()
  return {
    name = "extexify",
    cmd = M.config.cmd,
    root_dir = uv.cwd(),
    on_exit = function(_, _, id)
      if id == client_id then
        client_id = nil
      end
    end,
  }
end

--- Start extexify-lsp if it is not running and attach it to `bufnr` (0: current buffer).
--- Returns the client, or nil and a message saying why the server cannot run.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local executable = M.config.cmd[1]
  if vim.fn.executable(executable) == 0 then
    return nil,
      string.format(
        "the language server `%s` was not found: %s, or set `cmd` in setup()",
        executable,
        INSTALL_HINT
      )
  end
  local client = M.client()
  if client == nil then
    if vim.lsp.start then
      client_id = vim.lsp.start(server_config(), { bufnr = bufnr })
    else
      client_id = vim.lsp.start_client(server_config())
    end
    client = M.client()
    if client == nil then
      return nil, string.format("could not start `%s`; see :LspLog", table.concat(M.config.cmd, " "))
    end
  end
  vim.lsp.buf_attach_client(bufnr, client.id)
  return client
end

-- Run `callback(client)` once the server has answered `initialize` (and got didOpen for attached buffers).
-- Returns a function that stops waiting (callback is then never called).
local function when_ready(client, callback)
  if client.initialized then
    callback(client)
    return function() end
  end
  local waited = 0
  local timer = uv.new_timer()
  local function stop()
    if not timer:is_closing() then
      timer:close()
    end
  end
  timer:start(
    50,
    50,
    vim.schedule_wrap(function()
      if timer:is_closing() then
        return
      end
      waited = waited + 50
      if client.initialized or client_call(client, "is_stopped") or waited > M.config.start_timeout_ms then
        stop()
        callback(client)
      end
    end)
  )
  return stop
end

-- The client's position encoding: only final once the server has answered `initialize`.
local function encoding_of(client)
  return client and client.offset_encoding or "utf-16"
end

-- `cursor` ({row, col}: 1-based row, 0-based byte column, as nvim_win_get_cursor) in buffer `bufnr` as an
-- LSP position in `client`'s encoding.
local function to_position(bufnr, cursor, client)
  local row, col = cursor[1] - 1, cursor[2]
  return { line = row, character = vim.lsp.util.character_offset(bufnr, row, col, encoding_of(client)) }
end

--- Recognize `strokes` (a list of strokes, each a list of {x, y, t?} points, y down, any scale).
---
--- `opts`: `bufnr` and `cursor` ({row, col} as nvim_win_get_cursor(): 1-based row, 0-based byte column;
--- default: the cursor of the current window) make the server return edits for that document; `limit`.
--- `callback(err, items)` gets an error message or the ranked completion items.
--- Returns a function that cancels the request.
function M.recognize(strokes, opts, callback)
  opts = opts or {}
  local cancelled, request_id, client, stop_waiting = false, nil, nil, nil
  local function cancel()
    cancelled = true
    if stop_waiting then
      stop_waiting()
    end
    if client and request_id then
      client_call(client, "cancel_request", request_id)
    end
  end
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local cursor = opts.cursor or vim.api.nvim_win_get_cursor(0)
  local err
  client, err = M.attach(bufnr)
  if client == nil then
    callback(err, nil)
    return cancel
  end
  stop_waiting = when_ready(client, function()
    if cancelled then
      return
    end
    if not client.initialized then
      return callback("extexify-lsp did not start; see :LspLog", nil)
    end
    local params = {
      strokes = strokes,
      limit = opts.limit or M.config.limit,
      textDocument = { uri = vim.uri_from_bufnr(bufnr) },
      -- Converted only now: the encoding is negotiated in `initialize`.
      position = to_position(bufnr, cursor, client),
    }
    local ok
    ok, request_id = client_call(client, "request", protocol.RECOGNIZE_STROKES, params, function(rpc_err, result)
      request_id = nil
      if cancelled then
        return
      end
      if rpc_err then
        return callback(rpc_err.message or tostring(rpc_err), nil)
      end
      callback(nil, result and result.items or {})
    end, bufnr)
    if not ok then
      request_id = nil
      callback("extexify-lsp has stopped", nil)
    end
  end)
  return cancel
end

--- Run a server command (an inserted item's `command`) with workspace/executeCommand. Failures are
--- only logged: recording a choice helps later drawings, the insertion stands either way.
function M.execute_command(command, bufnr)
  local client = M.client()
  if command == nil or client == nil then
    return
  end
  local params = { command = command.command, arguments = command.arguments }
  client_call(client, "request", "workspace/executeCommand", params, function(err)
    if err then
      vim.lsp.log.warn("extexify:", command.command, "failed:", err.message or tostring(err))
    end
  end, bufnr)
end

--- Insert a recognized `item` into buffer `opts.bufnr` (default: current), with its `\usepackage` line,
--- then run its `command` (extexify.recordChoice: the server keeps the drawing as a sample of the choice).
---
--- Applies the item's `textEdit` and `additionalTextEdits`; an item without a textEdit (no document was
--- given to the server) is inserted as its label at `opts.cursor` ({row, col} as nvim_win_get_cursor();
--- default: the cursor).
function M.insert(item, opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local client = M.client()
  local encoding = encoding_of(client)
  local edit = item.textEdit
  if edit == nil then
    local position = to_position(bufnr, opts.cursor or vim.api.nvim_win_get_cursor(0), client)
    edit = { range = { start = position, ["end"] = position }, newText = item.label }
  end
  local edits = { edit }
  vim.list_extend(edits, item.additionalTextEdits or {})
  vim.lsp.util.apply_text_edits(edits, bufnr, encoding)
  M.execute_command(item.command, bufnr)
end

--- The variants of a recognized `item`: the item itself, then each of `item.data.alternatives` (the other
--- members of its draw-alike group, best first) as an item of its own, inserted with its own edits.
function M.variants(item)
  local variants = { item }
  for _, alternative in ipairs((item.data or {}).alternatives or {}) do
    variants[#variants + 1] = {
      label = alternative.label,
      textEdit = alternative.textEdit,
      additionalTextEdits = alternative.additionalTextEdits,
      command = alternative.command,
      data = {
        symbolId = alternative.symbolId,
        score = alternative.score,
        package = alternative.package,
        mode = alternative.mode,
        unicode = alternative.unicode,
        alternatives = {},
      },
    }
  end
  return variants
end

--- Why `command` cannot be taught (a control word `\mycirc` or a control symbol `\{`), or nil.
function M.command_problem(command)
  if #command > protocol.MAX_NAME then
    return string.format("a command has at most %d characters", protocol.MAX_NAME)
  end
  if command:match("^\\%a+$") or command:match("^\\[^%a%s]$") then
    return nil
  end
  return "a command is a backslash and letters (\\mycirc) or a backslash and one other character (\\{), got "
    .. command
end

--- Why `name` cannot be a package name, or nil (nil `name`: no package).
function M.package_problem(name)
  if name == nil then
    return nil
  end
  if #name > protocol.MAX_NAME or not name:match("^[%w][%w_-]*$") then
    return "a package name is letters, digits, '-' and '_' (e.g. stmaryrd), got " .. name
  end
  return nil
end

-- The item inserting a just-taught symbol: the server's own among `items` (so its edits add the
-- \usepackage line), without its command (teaching stored the drawing already); else the bare command.
local function taught_item(result, symbol, items)
  for _, item in ipairs(items) do
    for _, variant in ipairs(M.variants(item)) do
      if variant.data and variant.data.symbolId == result.symbolId then
        variant.command = nil
        return variant
      end
    end
  end
  return {
    label = symbol.command,
    data = { symbolId = result.symbolId, package = symbol.package, mode = symbol.mode or "math", alternatives = {} },
  }
end

--- Teach `strokes` as `symbol` ({command, package?, mode?}) with extexify/teach: the server stores the
--- drawing in the user's sample store. `opts`: `bufnr` and `cursor` as for recognize().
--- `callback(err, item)` gets an error message (e.g. personalization is off) or the item inserting the
--- symbol there, ready for insert().
function M.teach(strokes, symbol, opts, callback)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local cursor = opts.cursor or vim.api.nvim_win_get_cursor(0)
  local client, err = M.attach(bufnr)
  if client == nil then
    return callback(err, nil)
  end
  when_ready(client, function()
    if not client.initialized then
      return callback("extexify-lsp did not start; see :LspLog", nil)
    end
    local params = { strokes = strokes, symbol = symbol }
    local ok = client_call(client, "request", protocol.TEACH, params, function(rpc_err, result)
      if rpc_err then
        return callback(rpc_err.message or tostring(rpc_err), nil)
      end
      -- Recognized again at the cursor for the server's edits; the bare command if that fails.
      local recognize_opts = { bufnr = bufnr, cursor = cursor, limit = protocol.MAX_LIMIT }
      M.recognize(strokes, recognize_opts, function(_, items)
        callback(nil, taught_item(result, symbol, items or {}))
      end)
    end, bufnr)
    if not ok then
      callback("extexify-lsp has stopped", nil)
    end
  end)
end

--- Open the drawing pad for the current window; the chosen symbol goes in at its cursor.
function M.draw()
  require("extexify.pad").open()
end

--- Configure extexify; with `autostart`, attach the server to buffers of `filetypes`.
function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  local group = vim.api.nvim_create_augroup("extexify", { clear = true })
  if not M.config.autostart then
    return
  end
  local function autostart(bufnr)
    local _, err = M.attach(bufnr)
    if err and not warned_missing then
      warned_missing = true
      vim.notify("extexify: " .. err, vim.log.levels.WARN)
    end
  end
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.config.filetypes,
    callback = function(args)
      autostart(args.buf)
    end,
  })
  -- Buffers already open when setup() runs (e.g. setup called lazily).
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(M.config.filetypes, vim.bo[bufnr].filetype) then
      autostart(bufnr)
    end
  end
end

return M
