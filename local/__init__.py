"""Local mode and test servers: the Graph sandbox, the API emulator, the retry poller. Never deployed."""
