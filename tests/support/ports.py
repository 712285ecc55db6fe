"""Free loopback ports (the OS picks), and waiting for something to listen."""

from services.local_broker import free_port, wait_for_port

__all__ = ["free_port", "wait_for_port"]
