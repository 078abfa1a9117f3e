"""Data managers can trust: cross-check rules (`rules`), evidence typing (`evidence`), flags on leads (`flags`)
and stage gates (`gates`). The rules are pure; `flags` runs them over a lead and keeps their findings."""
