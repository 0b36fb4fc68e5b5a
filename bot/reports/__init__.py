"""KPIs, reports (Markdown, JSON, CSV, PNG), digests, history and export. SQL lives in
`bot.store.reports` and `bot.store.privacy`; everything here computes over plain records."""
