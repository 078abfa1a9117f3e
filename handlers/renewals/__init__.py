"""Renewal early warning (续约预警): contracts and payments imported from CSV/XLSX (`sheet`, `importer`), matched
to the customers' leads (`accounts`), a daily set-based scan that warns once per contract (`scan`), the lock on
the owner's other actions until a renewal proof or the manager (`locks`) and the digest's renewal rate
(`figures`); the chat routes are handlers/chat/renewals.py. Formula and policies: docs/renewals.md."""
