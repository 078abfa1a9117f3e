"""Fakes of remote services as real aiohttp servers on 127.0.0.1."""
