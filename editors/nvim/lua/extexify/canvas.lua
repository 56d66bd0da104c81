-- The drawing: strokes recorded from mouse positions and their ink as braille text.
--
-- A terminal reports the mouse per cell, and a cell is about twice as tall as it is wide, so
-- points are kept in braille dots (2 across, 4 down per cell): dot space is close to square,
-- which keeps the drawing's aspect ratio for the recognizer.
local M = {}

-- vim.uv since Neovim 0.10, vim.loop before.
local uv = vim.uv or vim.loop

local DOTS_X, DOTS_Y = 2, 4
local BRAILLE_BLANK = 0x2800
-- Bit of each dot in a braille cell, indexed [dot row + 1][dot column + 1] (Unicode braille patterns).
local DOT_BITS = {
  { 0x01, 0x08 },
  { 0x02, 0x10 },
  { 0x04, 0x20 },
  { 0x40, 0x80 },
}

local Canvas = {}
Canvas.__index = Canvas

--- A blank canvas of `width` x `height` cells.
function M.new(width, height)
  return setmetatable({ width = width, height = height, strokes = {} }, Canvas)
end

--- Milliseconds on a monotonic clock.
local function now_ms()
  return uv.hrtime() / 1e6
end

--- The dot at the centre of cell (`row`, `col`), both 0-based.
local function cell_center(row, col)
  return col * DOTS_X + DOTS_X / 2, row * DOTS_Y + DOTS_Y / 2
end

--- Start a stroke at cell (`row`, `col`), 0-based.
function Canvas:begin_stroke(row, col)
  table.insert(self.strokes, {})
  self:extend_stroke(row, col)
end

--- Add the mouse position (`row`, `col`) to the current stroke; a repeat of the last cell is dropped.
function Canvas:extend_stroke(row, col)
  local stroke = self.strokes[#self.strokes]
  if stroke == nil then
    return
  end
  local x, y = cell_center(row, col)
  local last = stroke[#stroke]
  if last and last[1] == x and last[2] == y then
    return
  end
  table.insert(stroke, { x, y, now_ms() })
end

--- Remove the last stroke; returns whether there was one.
function Canvas:undo()
  return table.remove(self.strokes) ~= nil
end

function Canvas:clear()
  self.strokes = {}
end

function Canvas:is_empty()
  return #self.strokes == 0
end

--- The strokes as extexify-lsp takes them: lists of {x, y, t} in dots, t in ms since the first point.
function Canvas:to_strokes()
  local t0 = self.strokes[1] and self.strokes[1][1] and self.strokes[1][1][3] or 0
  local out = {}
  for _, stroke in ipairs(self.strokes) do
    local points = {}
    for _, p in ipairs(stroke) do
      table.insert(points, { p[1], p[2], p[3] - t0 })
    end
    table.insert(out, points)
  end
  return out
end

-- Set every dot on the segment from (x0, y0) to (x1, y1) (dot coordinates, Bresenham's line).
local function plot_line(dots, x0, y0, x1, y1)
  local dx, dy = math.abs(x1 - x0), -math.abs(y1 - y0)
  local sx = x0 < x1 and 1 or -1
  local sy = y0 < y1 and 1 or -1
  local err = dx + dy
  while true do
    dots[y0 * 65536 + x0] = true
    if x0 == x1 and y0 == y1 then
      return
    end
    local e2 = 2 * err
    if e2 >= dy then
      err = err + dy
      x0 = x0 + sx
    end
    if e2 <= dx then
      err = err + dx
      y0 = y0 + sy
    end
  end
end

--- The ink as `height` lines of `width` cells: braille characters where there is ink, spaces elsewhere.
function Canvas:render()
  local dots = {}
  for _, stroke in ipairs(self.strokes) do
    for i, p in ipairs(stroke) do
      local prev = stroke[i - 1] or p
      plot_line(dots, math.floor(prev[1]), math.floor(prev[2]), math.floor(p[1]), math.floor(p[2]))
    end
  end
  local lines = {}
  for row = 0, self.height - 1 do
    local cells = {}
    for col = 0, self.width - 1 do
      local bits = 0
      for dy = 0, DOTS_Y - 1 do
        for dx = 0, DOTS_X - 1 do
          if dots[(row * DOTS_Y + dy) * 65536 + col * DOTS_X + dx] then
            bits = bits + DOT_BITS[dy + 1][dx + 1]
          end
        end
      end
      cells[col + 1] = bits == 0 and " " or vim.fn.nr2char(BRAILLE_BLANK + bits)
    end
    lines[row + 1] = table.concat(cells)
  end
  return lines
end

return M
