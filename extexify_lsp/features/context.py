"""What the features need from the language server, so that they can run without one (unit tests)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    from pygls.workspace import Workspace

    from extexify_lsp.glyphs import GlyphAtlas
    from extexify_lsp.personal import RecentDrawings
    from extexify_lsp.ranking import Ranker
    from extexify_lsp.symbols import Symbol, SymbolTable


class Server(Protocol):
    """The documents, the symbols, the model, and what the client declared it can show."""

    @property
    def workspace(self) -> Workspace: ...

    @property
    def symbols(self) -> SymbolTable: ...

    @property
    def ranker(self) -> Ranker: ...

    def symbol(self, symbol_id: str) -> Symbol | None:
        """The model's symbol with this id, or the one the user taught; None if neither has it."""
        ...

    @property
    def glyphs(self) -> GlyphAtlas | None: ...

    @property
    def drawings(self) -> RecentDrawings:
        """This connection's recently recognized drawings, for recording the user's choice."""
        ...

    @property
    def glyph_images(self) -> bool:
        """Whether the client's Markdown shows images (documentation may carry glyphs)."""
        ...

    async def probabilities(self, drawing: list[np.ndarray]) -> np.ndarray:
        """The model's probability for every symbol (label order), for the drawing."""
        ...

    async def recognition(self, drawing: list[np.ndarray]) -> tuple[np.ndarray, Ranker]:
        """The drawing's probabilities with the user's samples fused in (user symbols after the model's),
        and the ranker over those symbols."""
        ...

    def completion_markdown(self) -> bool:
        """Whether completion documentation may be Markdown."""
        ...

    def completion_resolves(self, prop: str) -> bool:
        """Whether the client fills in the item property `prop` later, through `completionItem/resolve`."""
        ...

    def completion_defaults(self, prop: str) -> bool:
        """Whether the client takes the item property `prop` from a completion list's itemDefaults."""
        ...

    def hover_markdown(self) -> bool:
        """Whether hover contents may be Markdown."""
        ...
