"""Start-up wiring: the CLI and its commands, the server factory, building the services, the scheduler and
periodic jobs, the console runner. It uses every room; nothing imports it."""
