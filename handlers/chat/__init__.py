"""The chat routes, one module (and one Router) per room: words or a typed button in, a use case of the rooms
below (handlers/leads, checks, renewals, ramp, report, knowledge ...), a reply out. Nothing below imports them;
`handlers.build_router` assembles them."""
