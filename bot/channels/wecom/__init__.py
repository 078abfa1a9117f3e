"""WeCom (企业微信) self-built app channel: callback, API client, rendering, sender."""
