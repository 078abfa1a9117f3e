"""The core every room may use and that uses none of them: config, clock, messages, typed actions, router,
context, dispatch, intake, outbox, services, org, channels."""
