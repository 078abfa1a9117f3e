"""The lead domain: use cases as session functions (`records`, `assignment`), who may see and act
(`permissions`), evidence files (`evidence`), how leads look (`views`) and what
visit summaries reveal (`insights`)."""
