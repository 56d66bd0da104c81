"""Values computed from a document's text, kept while the document lives and its text is unchanged.

Requests outnumber edits: a drawing after a drawing asks about the same text. Entries go with their
document (weak keys), so that a closed document's text is not kept alive here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast
from weakref import WeakKeyDictionary

from pygls.workspace import TextDocument

T = TypeVar("T")

# Document -> function -> (the text's version, id and length, the function's value for it). LSP clients
# give every change a new version; id and length also tell a replaced text apart from the one computed on.
_entries: WeakKeyDictionary[TextDocument, dict[Callable[[str], Any], tuple[tuple[object, ...], Any]]] = (
    WeakKeyDictionary()
)


def per_text(document: TextDocument, compute: Callable[[str], T]) -> T:
    """`compute(document.source)`, computed once per version of the document's text."""
    text = document.source
    key = (document.version, id(text), len(text))
    entries = _entries.setdefault(document, {})
    cached = entries.get(compute)
    if cached is not None and cached[0] == key:
        return cast(T, cached[1])
    value = compute(text)
    entries[compute] = (key, value)
    return value
