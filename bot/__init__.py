"""salesbot: the bot runtime (CLI, config, messages, router, outbox, channels)."""
