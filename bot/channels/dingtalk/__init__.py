"""DingTalk channel: HTTP callback or Stream receiving, robot API sending, rendering of neutral bodies."""
