"""Share of voice: which of the watched brands (the team's own, its competitors) an event names.
`Event.brand` wins when the source says whose brand it is; otherwise the text is searched for the
brand's name and aliases and each competitor's name, case-insensitively, as whole words."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.workspace import Brand


class BrandMatcher:
    def __init__(self, brand: Brand) -> None:
        self.own = brand.name
        self.names: list[str] = [brand.name, *(c for c in brand.competitors if c != brand.name)]
        terms: dict[str, list[str]] = {brand.name: [brand.name, *brand.aliases]}
        for competitor in brand.competitors:
            terms.setdefault(competitor, [competitor])
        self._by_term = {term.casefold(): name for name, items in terms.items() for term in items}
        # (?<!\w)…(?!\w) instead of \b: aliases may start with `@` or end with `&`, where \b fails.
        self._patterns = [
            (name, re.compile("|".join(rf"(?<!\w){re.escape(t)}(?!\w)" for t in items), re.IGNORECASE))
            for name, items in terms.items()
        ]

    def brands_in(self, text: str, declared: str | None = None) -> Sequence[str]:
        if declared:
            found = self._by_term.get(declared.strip().casefold())
            return (found,) if found else ()
        return tuple(name for name, pattern in self._patterns if pattern.search(text))
