"""The lead domain: use cases as session functions (`records`, `assignment`, `manage`), who may see and act
(`permissions`; answered in chat: `chat_gate`), what a rep's words say about a lead (`rules`), evidence files
(`evidence`), how leads look (`views`) and what visit summaries reveal (`insights`)."""
