-- :ExtexifyDraw: a floating drawing pad. Draw with the mouse, see the candidates, insert one.
local extexify = require("extexify")
local canvas = require("extexify.canvas")

local M = {}

-- vim.uv since Neovim 0.10, vim.loop before.
local uv = vim.uv or vim.loop

local ns = vim.api.nvim_create_namespace("extexify")
local HELP = {
  "1-9 Enter  insert",
  "j k  select",
  "] [  look-alike",
  "u  undo stroke",
  "c  clear",
  "q Esc  close",
  ":ExtexifyTeach \\cmd  not listed",
}
-- Before the look-alikes listed under a candidate (the other members of its draw-alike group).
local ALTERNATIVES_PREFIX = "     or "
local MOUSE_PRESS = { "<LeftMouse>", "<2-LeftMouse>", "<3-LeftMouse>", "<4-LeftMouse>" }

-- Highlight the whole of line `row` (0-based) with `group`.
local function highlight_line(buf, row, group)
  vim.api.nvim_buf_set_extmark(buf, ns, row, 0, { line_hl_group = group })
end

-- The open pad, or nil.
local pad = nil

--- The open pad's state (windows, canvas, candidates), or nil; for tests and other plugins.
function M.current()
  return pad
end

-- Window sizes: the canvas fills most of the screen (the mouse comes at cell resolution), candidates at its right.
local function layout()
  local available = vim.o.lines - vim.o.cmdheight - 1
  local height = math.max(#HELP + 12, math.floor(available * 0.9) - 2)
  local total = math.floor(vim.o.columns * 0.92)
  local list_width = math.min(44, math.floor(total * 0.4))
  local row = math.max(0, math.floor((available - height - 2) / 2))
  local col = math.max(0, math.floor((vim.o.columns - total) / 2))
  return {
    canvas = { row = row, col = col, width = total - list_width - 4, height = height },
    list = { row = row, col = col + total - list_width - 2, width = list_width, height = height },
  }
end

-- The pad takes the editor's own colours, so it follows the colorscheme and its light or dark background.
-- Defined on each open: a :colorscheme clears them; `default` keeps a user's own definition.
local function define_highlights()
  vim.api.nvim_set_hl(0, "ExtexifyNormal", { link = "Normal", default = true })
  vim.api.nvim_set_hl(0, "ExtexifyBorder", { link = "Normal", default = true })
end

local function open_float(buf, enter, geometry)
  local win = vim.api.nvim_open_win(buf, enter, {
    relative = "editor",
    row = geometry.row,
    col = geometry.col,
    width = geometry.width,
    height = geometry.height,
    style = "minimal",
    border = "rounded",
    zindex = 60,
  })
  vim.wo[win].wrap = false
  -- style=minimal leaves signcolumn=auto, and the line highlights would open it.
  vim.wo[win].signcolumn = "no"
  vim.wo[win].winhighlight = "Normal:ExtexifyNormal,FloatBorder:ExtexifyBorder"
  return win
end

local function scratch_buffer(filetype)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].filetype = filetype
  return buf
end

local function set_lines(buf, lines)
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
end

-- `text` padded with spaces to `width` display cells.
local function pad_right(text, width)
  return text .. string.rep(" ", math.max(0, width - vim.fn.strdisplaywidth(text)))
end

-- The symbol's Unicode character, or "".
local function unicode_char(item)
  local unicode = (item.data or {}).unicode
  return type(unicode) == "string" and unicode or ""
end

-- One candidate row: number, command (padded to `width`), Unicode character, package · mode.
local function format_candidate(index, item, width)
  local data = item.data or {}
  local where = (data.package or "LaTeX") .. " · " .. (data.mode or "?")
  return string.format(" %d  %s %s %s", index, pad_right(item.label, width), pad_right(unicode_char(item), 2), where)
end

-- The look-alikes of a candidate (`variants` but the shown one) as lines of at most `width` display cells,
-- and for each a segment {line = i, from, to, variant} (0-based display columns) for clicks.
local function format_alternatives(variants, shown, width)
  local lines, segments = {}, {}
  local line = ALTERNATIVES_PREFIX
  for i, variant in ipairs(variants) do
    if i ~= shown then
      local char = unicode_char(variant)
      local text = char == "" and variant.label or variant.label .. " " .. char
      local used = vim.fn.strdisplaywidth(line)
      if line ~= ALTERNATIVES_PREFIX and used + 2 + vim.fn.strdisplaywidth(text) > width then
        lines[#lines + 1] = line
        line, used = string.rep(" ", #ALTERNATIVES_PREFIX), #ALTERNATIVES_PREFIX
      elseif line ~= ALTERNATIVES_PREFIX then
        line, used = line .. "  ", used + 2
      end
      segments[#segments + 1] =
        { line = #lines + 1, from = used, to = used + vim.fn.strdisplaywidth(text), variant = i }
      line = line .. text
    end
  end
  lines[#lines + 1] = line
  return lines, segments
end

local function redraw_canvas()
  local drawing = pad.canvas
  set_lines(pad.canvas_buf, drawing:render())
  vim.api.nvim_buf_clear_namespace(pad.canvas_buf, ns, 0, -1)
  if drawing:is_empty() then
    local hint = "draw a symbol here with the mouse"
    vim.api.nvim_buf_set_extmark(pad.canvas_buf, ns, math.floor(drawing.height / 2), 0, {
      virt_text = { { hint, "Comment" } },
      virt_text_win_col = math.max(0, math.floor((drawing.width - #hint) / 2)),
    })
  end
end

-- `text` broken at spaces into lines of at most `width` bytes (long words are left whole).
local function wrap(text, width)
  local lines, line = {}, ""
  for word in text:gmatch("%S+") do
    if line ~= "" and #line + 1 + #word > width then
      lines[#lines + 1] = line
      line = word
    else
      line = line == "" and word or line .. " " .. word
    end
  end
  lines[#lines + 1] = line
  return lines
end

local function redraw_list()
  local lines = {}
  for _, line in ipairs(wrap(pad.status.text, pad.list_width - 2)) do
    lines[#lines + 1] = " " .. line
  end
  local status_rows = #lines
  lines[#lines + 1] = ""
  local shown_items = {}
  local width = 0
  for i, item in ipairs(pad.items) do
    shown_items[i] = extexify.variants(item)[pad.shown[i]]
    width = math.max(width, vim.fn.strdisplaywidth(shown_items[i].label))
  end
  -- What a click on each list row (0-based) chooses: a candidate, and a look-alike where one is listed.
  pad.rows, pad.candidate_rows = {}, {}
  local alternative_rows = {}
  for i, item in ipairs(pad.items) do
    pad.candidate_rows[i] = #lines
    pad.rows[#lines] = { index = i, segments = {} }
    lines[#lines + 1] = format_candidate(i, shown_items[i], width)
    local variants = extexify.variants(item)
    if #variants > 1 then
      local alternatives, segments = format_alternatives(variants, pad.shown[i], pad.list_width - 1)
      local first = #lines
      for _, line in ipairs(alternatives) do
        alternative_rows[#alternative_rows + 1] = #lines
        pad.rows[#lines] = { index = i, segments = {} }
        lines[#lines + 1] = line
      end
      for _, segment in ipairs(segments) do
        table.insert(pad.rows[first + segment.line - 1].segments, segment)
      end
    end
  end
  -- The key help at the bottom, unless the candidates and their look-alikes need the room.
  local help_row = pad.list_height - #HELP
  local help = #lines <= help_row and HELP or {}
  while #help > 0 and #lines < help_row do
    lines[#lines + 1] = ""
  end
  for _, line in ipairs(help) do
    lines[#lines + 1] = " " .. line
  end
  set_lines(pad.list_buf, lines)
  vim.api.nvim_buf_clear_namespace(pad.list_buf, ns, 0, -1)
  for row = 0, status_rows - 1 do
    highlight_line(pad.list_buf, row, pad.status.highlight)
  end
  for _, row in ipairs(alternative_rows) do
    highlight_line(pad.list_buf, row, "Comment")
  end
  if pad.items[pad.selected] then
    highlight_line(pad.list_buf, pad.candidate_rows[pad.selected], "PmenuSel")
  end
  for row = #lines - #help, #lines - 1 do
    highlight_line(pad.list_buf, row, "Comment")
  end
end

local function set_status(text, highlight)
  pad.status = { text = text, highlight = highlight or "Title" }
  redraw_list()
end

-- Stop the debounce timer and cancel the request in flight: a newer drawing supersedes them.
local function cancel_pending(this)
  if this.timer and not this.timer:is_closing() then
    this.timer:stop()
    this.timer:close()
  end
  this.timer = nil
  if this.cancel then
    this.cancel()
    this.cancel = nil
  end
  this.generation = this.generation + 1
end

local function request(this)
  local generation = this.generation
  set_status("Recognizing…", "Comment")
  local options = { bufnr = this.origin.buf, cursor = this.origin.cursor, limit = extexify.config.limit }
  local cancel = extexify.recognize(this.canvas:to_strokes(), options, function(err, items)
    if pad ~= this or this.generation ~= generation then
      return
    end
    this.cancel = nil
    if err then
      this.items = {}
      return set_status(err, "ErrorMsg")
    end
    this.items, this.selected = items, 1
    this.shown = {}
    for i = 1, #items do
      this.shown[i] = 1
    end
    set_status(#items > 0 and "Candidates" or "No candidates", "Title")
  end)
  if this.generation == generation then
    this.cancel = cancel
  end
end

-- Ask for candidates once the user pauses after a stroke.
local function schedule_recognition()
  local this = pad
  cancel_pending(this)
  if this.canvas:is_empty() then
    this.items = {}
    return set_status("Draw a symbol with the mouse", "Comment")
  end
  local timer = uv.new_timer()
  this.timer = timer
  timer:start(
    extexify.config.debounce_ms,
    0,
    vim.schedule_wrap(function()
      if timer:is_closing() then
        return
      end
      timer:close()
      if pad == this and this.timer == timer then
        this.timer = nil
        request(this)
      end
    end)
  )
end

-- Insert `item` at the cursor `origin` remembers, in its window, and put the cursor after the command.
local function insert_at(origin, item)
  if not vim.api.nvim_buf_is_valid(origin.buf) then
    return vim.notify("extexify: the buffer to insert into is gone", vim.log.levels.ERROR)
  end
  if vim.api.nvim_win_is_valid(origin.win) and vim.api.nvim_win_get_buf(origin.win) == origin.buf then
    vim.api.nvim_set_current_win(origin.win)
  end
  -- A right-gravity mark at the cursor ends up after the inserted command, whatever lines the edits add above.
  local mark = vim.api.nvim_buf_set_extmark(origin.buf, ns, origin.cursor[1] - 1, origin.cursor[2], {})
  extexify.insert(item, { bufnr = origin.buf, cursor = origin.cursor })
  local row, col = unpack(vim.api.nvim_buf_get_extmark_by_id(origin.buf, ns, mark, {}))
  vim.api.nvim_buf_del_extmark(origin.buf, ns, mark)
  if vim.api.nvim_get_current_buf() == origin.buf then
    vim.api.nvim_win_set_cursor(0, { row + 1, col })
    if origin.insert_mode then
      vim.cmd("startinsert")
    end
  end
end

--- Insert candidate `index` at the cursor of the window the pad was opened from, and close the pad: its
--- variant `variant` (1: the candidate's label, 2...: its look-alikes; default: the one shown).
function M.choose(index, variant)
  local item = pad and pad.items[index]
  if item ~= nil then
    item = extexify.variants(item)[variant or pad.shown[index]]
  end
  if item == nil then
    if pad then
      set_status(string.format("There is no candidate %d", index), "WarningMsg")
    end
    return
  end
  local origin = pad.origin
  M.close()
  insert_at(origin, item)
end

--- Teach the drawing on the pad as `command` (`\mycirc`; optionally from `package`, used in `mode`,
--- default math) with extexify/teach, then close the pad and insert the command as a candidate would be.
--- Problems (nothing drawn, a bad name, personalization off) are shown on the pad and notified.
function M.teach(command, package, mode)
  local problem = (pad == nil or pad.canvas:is_empty()) and "draw the symbol on the :ExtexifyDraw pad first"
    or extexify.command_problem(command)
    or extexify.package_problem(package)
  if problem then
    if pad then
      set_status(problem, "ErrorMsg")
    end
    return vim.notify("extexify: cannot teach: " .. problem, vim.log.levels.ERROR)
  end
  local this = pad
  cancel_pending(this)
  set_status("Teaching " .. command .. "…", "Comment")
  local symbol = { command = command, package = package, mode = mode or "math" }
  local options = { bufnr = this.origin.buf, cursor = this.origin.cursor }
  extexify.teach(this.canvas:to_strokes(), symbol, options, function(err, item)
    if err then
      if pad == this then
        set_status("Could not teach " .. command .. ": " .. err, "ErrorMsg")
      end
      return vim.notify("extexify: could not teach " .. command .. ": " .. err, vim.log.levels.ERROR)
    end
    if pad == this then
      M.close()
    end
    insert_at(this.origin, item)
  end)
end

local function move_selection(delta)
  if #pad.items > 0 then
    pad.selected = (pad.selected - 1 + delta) % #pad.items + 1
    redraw_list()
  end
end

-- Show the highlighted candidate's next (`delta` 1) or previous (-1) look-alike in its place.
local function cycle_variant(delta)
  local item = pad.items[pad.selected]
  if item then
    local count = #extexify.variants(item)
    pad.shown[pad.selected] = (pad.shown[pad.selected] - 1 + delta) % count + 1
    redraw_list()
  end
end

-- The mouse position as a canvas cell (0-based, clamped to the canvas) and getmousepos()'s answer.
local function mouse_cell()
  local mouse = vim.fn.getmousepos()
  -- The screen cell of the canvas's first character (win_screenpos() would count the border on 0.7).
  local origin = vim.fn.screenpos(pad.canvas_win, 1, 1)
  local row = math.min(math.max(mouse.screenrow - origin.row, 0), pad.canvas.height - 1)
  local col = math.min(math.max(mouse.screencol - origin.col, 0), pad.canvas.width - 1)
  local inside = mouse.winid == pad.canvas_win
  return row, col, inside, mouse
end

local function on_press()
  local row, col, inside, mouse = mouse_cell()
  if mouse.winid == pad.list_win then
    local row = pad.rows[mouse.line - 1]
    if row == nil then
      return
    end
    for _, segment in ipairs(row.segments) do
      if mouse.wincol - 1 >= segment.from and mouse.wincol - 1 < segment.to then
        return M.choose(row.index, segment.variant)
      end
    end
    return M.choose(row.index)
  end
  if not inside then
    return
  end
  cancel_pending(pad)
  pad.canvas:begin_stroke(row, col)
  pad.drawing = true
  redraw_canvas()
end

local function on_drag()
  if pad.drawing then
    local row, col = mouse_cell()
    pad.canvas:extend_stroke(row, col)
    redraw_canvas()
  end
end

local function on_release()
  if pad.drawing then
    local row, col = mouse_cell()
    pad.canvas:extend_stroke(row, col)
    pad.drawing = false
    redraw_canvas()
    schedule_recognition()
  end
end

local function edit_drawing(change)
  return function()
    pad.drawing = false
    change(pad.canvas)
    redraw_canvas()
    schedule_recognition()
  end
end

local function keymaps(buf)
  local function map(lhs, fn)
    vim.keymap.set("n", lhs, fn, { buffer = buf, nowait = true, silent = true })
  end
  for i = 1, 9 do
    map(tostring(i), function()
      M.choose(i)
    end)
  end
  map("<CR>", function()
    M.choose(pad.selected)
  end)
  for _, lhs in ipairs({ "j", "<Down>", "<Tab>" }) do
    map(lhs, function()
      move_selection(1)
    end)
  end
  for _, lhs in ipairs({ "k", "<Up>", "<S-Tab>" }) do
    map(lhs, function()
      move_selection(-1)
    end)
  end
  map("]", function()
    cycle_variant(1)
  end)
  map("[", function()
    cycle_variant(-1)
  end)
  map("u", edit_drawing(function(c)
    c:undo()
  end))
  map("c", edit_drawing(function(c)
    c:clear()
  end))
  map("q", M.close)
  map("<Esc>", M.close)
  for _, lhs in ipairs(MOUSE_PRESS) do
    map(lhs, on_press)
  end
  map("<LeftDrag>", on_drag)
  map("<LeftRelease>", on_release)
end

--- Open the pad over the current window; a chosen symbol goes in at that window's cursor.
function M.open()
  if pad then
    return vim.api.nvim_set_current_win(pad.canvas_win)
  end
  local origin = {
    win = vim.api.nvim_get_current_win(),
    buf = vim.api.nvim_get_current_buf(),
    cursor = vim.api.nvim_win_get_cursor(0),
    insert_mode = vim.fn.mode():sub(1, 1) == "i",
  }
  -- Start the server now, so it is warm by the time the first stroke is done.
  local _, err = extexify.attach(origin.buf)
  if origin.insert_mode then
    vim.cmd("stopinsert")
  end

  define_highlights()
  local geometry = layout()
  local list_buf = scratch_buffer("extexifycandidates")
  local canvas_buf = scratch_buffer("extexify")
  pad = {
    origin = origin,
    canvas = canvas.new(geometry.canvas.width, geometry.canvas.height),
    canvas_buf = canvas_buf,
    list_buf = list_buf,
    list_width = geometry.list.width,
    list_height = geometry.list.height,
    list_win = open_float(list_buf, false, geometry.list),
    canvas_win = open_float(canvas_buf, true, geometry.canvas),
    items = {},
    -- Per candidate: which of its variants (1: its label) is shown, and what choosing it inserts.
    shown = {},
    rows = {},
    candidate_rows = {},
    selected = 1,
    generation = 0,
    mouse = vim.o.mouse,
  }
  if not (vim.o.mouse:find("a") or vim.o.mouse:find("n")) then
    vim.o.mouse = "a"
  end
  keymaps(canvas_buf)
  redraw_canvas()
  set_status(err or "Draw a symbol with the mouse", err and "ErrorMsg" or "Comment")
  local this = pad
  vim.api.nvim_create_autocmd("WinClosed", {
    pattern = { tostring(this.canvas_win), tostring(this.list_win) },
    once = true,
    callback = function()
      vim.schedule(function()
        if pad == this then
          M.close()
        end
      end)
    end,
  })
end

--- Close the pad; nothing is inserted.
function M.close()
  local this = pad
  if this == nil then
    return
  end
  pad = nil
  cancel_pending(this)
  vim.o.mouse = this.mouse
  for _, win in ipairs({ this.canvas_win, this.list_win }) do
    if vim.api.nvim_win_is_valid(win) then
      vim.api.nvim_win_close(win, true)
    end
  end
  if vim.api.nvim_win_is_valid(this.origin.win) then
    vim.api.nvim_set_current_win(this.origin.win)
  end
end

return M
