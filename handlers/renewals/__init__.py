"""Renewal early warning (续约预警): contracts and payments imported from CSV/XLSX (`sheet`, `importer`), matched
to the customers' leads (`accounts`), a daily set-based scan that warns once per contract (`scan`), the lock on
the owner's other actions until a renewal proof or the manager (`locks`), the chat routes (`chat`) and the
digest's renewal rate (`figures`). Formula and policies: docs/renewals.md."""
