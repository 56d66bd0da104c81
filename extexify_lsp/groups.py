"""Draw-alike groups: symbols people draw the same way, which the server answers as one item.

The groups are made by the training toolkit (`extexify-train groups`) from evidence and travel in the
model artifact's metadata under "groups"; each link between two members records why they are linked.
A symbol is in at most one group; a symbol in none is alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from extexify_lsp.symbols import SymbolTable

GROUPS_VERSION = 1
MAX_GROUP_SIZE = 12  # the most symbols a group may hold (a larger one could not be shown compactly)
EVIDENCE_KINDS = ("glyph", "unicode", "confusion", "override")


class GroupsError(ValueError):
    """The "groups" metadata is malformed or from a newer extexify; the message says what to fix."""


@dataclass(frozen=True)
class Link:
    """Two members of a group, and the evidence that they draw alike (dicts with a "kind")."""

    a: str
    b: str
    evidence: tuple[Mapping[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "evidence": [dict(e) for e in self.evidence]}


@dataclass(frozen=True)
class SymbolGroups:
    """Groups of at least two symbols, each in a fixed member order, and the links that made them."""

    groups: tuple[tuple[str, ...], ...] = ()
    links: tuple[tuple[Link, ...], ...] = ()  # links[i]: the links between members of groups[i]
    max_size: int = MAX_GROUP_SIZE
    _group_of: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.links) != len(self.groups):
            raise GroupsError(f"{len(self.groups)} groups but {len(self.links)} link lists")
        group_of: dict[str, int] = {}
        for number, members in enumerate(self.groups):
            if not 2 <= len(members) <= self.max_size:
                raise GroupsError(
                    f"group {number + 1} has {len(members)} members; a group holds 2 to {self.max_size}"
                )
            for member in members:
                if member in group_of:
                    raise GroupsError(f"symbol {member!r} is in more than one group")
                group_of[member] = number
        for number, (members, links) in enumerate(zip(self.groups, self.links, strict=True)):
            _check_links(number, members, links)
        object.__setattr__(self, "_group_of", group_of)

    @classmethod
    def alone(cls) -> SymbolGroups:
        """No groups: every symbol alone."""
        return cls()

    def members_of(self, symbol_id: str) -> tuple[str, ...]:
        """The symbol's whole group in its fixed order, itself included; `(symbol_id,)` when alone."""
        number = self._group_of.get(symbol_id)
        return (symbol_id,) if number is None else self.groups[number]

    def group_index(self, symbol_id: str) -> int | None:
        """The number of the symbol's group in `groups`, or None when alone."""
        return self._group_of.get(symbol_id)

    def to_metadata(self) -> dict[str, Any]:
        """The JSON form stored in the artifact metadata under "groups"."""
        return {
            "version": GROUPS_VERSION,
            "max_size": self.max_size,
            "groups": [
                {"members": list(members), "links": [link.to_dict() for link in links]}
                for members, links in zip(self.groups, self.links, strict=True)
            ],
        }

    @classmethod
    def from_metadata(cls, raw: object, symbols: SymbolTable) -> SymbolGroups:
        """Validate the metadata's "groups" value against the artifact's symbol table."""
        if not isinstance(raw, dict):
            raise GroupsError(f"'groups' must be an object, not {type(raw).__name__}")
        version = raw.get("version")
        if version != GROUPS_VERSION:
            raise GroupsError(
                f"'groups' has version {version!r}; this extexify reads version {GROUPS_VERSION}: "
                "upgrade extexify or rebuild the groups with `extexify-train groups`"
            )
        max_size = raw.get("max_size", MAX_GROUP_SIZE)
        if not isinstance(max_size, int) or isinstance(max_size, bool) or not 2 <= max_size <= MAX_GROUP_SIZE:
            raise GroupsError(
                f"'groups.max_size' must be an integer from 2 to {MAX_GROUP_SIZE}, not {max_size!r}"
            )
        entries = raw.get("groups")
        if not isinstance(entries, list):
            raise GroupsError("'groups.groups' must be a list of {members, links} objects")
        groups: list[tuple[str, ...]] = []
        links: list[tuple[Link, ...]] = []
        for number, entry in enumerate(entries):
            where = f"group {number + 1}"
            if not isinstance(entry, dict):
                raise GroupsError(f"{where} must be an object with 'members' and 'links'")
            members = entry.get("members")
            if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
                raise GroupsError(f"{where}: 'members' must be a list of symbol ids")
            unknown = [m for m in members if m not in symbols]
            if unknown:
                raise GroupsError(f"{where}: {unknown[0]!r} is not in the model's symbol table")
            if len(set(members)) != len(members):
                raise GroupsError(f"{where} lists a member twice")
            groups.append(tuple(members))
            links.append(tuple(_parse_link(where, raw_link) for raw_link in _list(entry.get("links"), where)))
        return cls(tuple(groups), tuple(links), max_size)


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise GroupsError(f"{where}: 'links' must be a list of {{a, b, evidence}} objects")
    return value


def _parse_link(where: str, raw: object) -> Link:
    if not isinstance(raw, dict) or not isinstance(raw.get("a"), str) or not isinstance(raw.get("b"), str):
        raise GroupsError(f"{where}: each link must be an object with symbol ids 'a' and 'b'")
    evidence = raw.get("evidence")
    if not isinstance(evidence, list) or not evidence:
        raise GroupsError(f"{where}: link {raw['a']} - {raw['b']} has no 'evidence' list")
    for item in evidence:
        if not isinstance(item, dict) or item.get("kind") not in EVIDENCE_KINDS:
            raise GroupsError(
                f"{where}: link {raw['a']} - {raw['b']} has evidence {item!r}; "
                f"each must be an object whose 'kind' is one of {EVIDENCE_KINDS}"
            )
    return Link(raw["a"], raw["b"], tuple(evidence))


def _check_links(number: int, members: tuple[str, ...], links: tuple[Link, ...]) -> None:
    """Every link joins two members of its group, and the links connect the whole group."""
    where = f"group {number + 1}"
    inside = set(members)
    reached = {members[0]}
    for link in links:
        if link.a not in inside or link.b not in inside or link.a == link.b:
            raise GroupsError(
                f"{where}: link {link.a} - {link.b} must join two different members of the group"
            )
    grown = True
    while grown:  # a group is small (<= 12): a few passes over its links reach everything
        grown = False
        for link in links:
            if (link.a in reached) != (link.b in reached):
                reached |= {link.a, link.b}
                grown = True
    if reached != inside:
        raise GroupsError(
            f"{where}: its links do not connect {sorted(inside - reached)} to the rest; "
            "every member needs evidence linking it"
        )
