"""Map legacy Detexify symbol keys (`amssymb-OT1-_bigstar`) to canonical ids (`latex:amssymb:bigstar`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LegacyIds:
    """The mapping from Detexify Next's `imports/legacy-detexify.json`, with the naming rule as fallback."""

    known: Mapping[str, str] = field(default_factory=dict)  # legacyId and legacyApiId -> canonicalId
    canonical_ids: Collection[str] = frozenset()  # the fallback rule only yields ids that exist here

    @classmethod
    def from_entries(
        cls, entries: Iterable[Mapping[str, object]], canonical_ids: Collection[str]
    ) -> LegacyIds:
        """Build from the `symbols` entries of legacy-detexify.json (legacyId, legacyApiId, canonicalId)."""
        known: dict[str, str] = {}
        for entry in entries:
            canonical = entry.get("canonicalId")
            if not isinstance(canonical, str):
                continue
            for key in ("legacyId", "legacyApiId"):
                legacy = entry.get(key)
                if isinstance(legacy, str):
                    known[legacy] = canonical
        return cls(known=known, canonical_ids=frozenset(canonical_ids))

    def canonical_id(self, key: str) -> str | None:
        """The canonical id for a legacy key, or None when neither the mapping nor the rule knows it."""
        if key in self.known:
            return self.known[key]
        # The rule: <package>-<fontenc>-_<name> (or -\<name>) -> latex:<package>:<name>.
        parts = key.split("-", 2)
        if len(parts) != 3 or parts[2][:1] not in ("_", "\\") or len(parts[2]) < 2:
            return None
        candidate = f"latex:{parts[0]}:{parts[2][1:]}"
        return candidate if candidate in self.canonical_ids else None
