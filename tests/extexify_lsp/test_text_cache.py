"""Values per version of a document's text: computed once, again after a change, gone with the document."""

from __future__ import annotations

import gc
import weakref

from lsprotocol import types
from pygls.workspace import TextDocument

from extexify_lsp.text_cache import per_text


def test_computed_once_per_version_of_the_text() -> None:
    calls: list[str] = []

    def length(text: str) -> int:
        calls.append(text)
        return len(text)

    doc = TextDocument("file:///t.tex", "abc", version=1)
    assert per_text(doc, length) == per_text(doc, length) == 3
    assert calls == ["abc"]
    doc.apply_change(
        types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(0, 3), types.Position(0, 3)), text="d"
        )
    )
    doc.version = 2
    assert per_text(doc, length) == 4
    assert calls == ["abc", "abcd"]


def test_a_text_replaced_without_a_new_version_is_computed_again() -> None:
    doc = TextDocument("file:///t.tex", "abc", version=1)
    assert per_text(doc, str.upper) == "ABC"
    doc.apply_change(types.TextDocumentContentChangeWholeDocument(text="xyz!"))
    assert per_text(doc, str.upper) == "XYZ!"


def test_entries_go_with_their_document() -> None:
    doc = TextDocument("file:///t.tex", "x" * 1000, version=1)
    value = per_text(doc, lambda text: [len(text)])
    kept = weakref.ref(doc)
    del doc
    gc.collect()
    assert kept() is None and value == [1000]
