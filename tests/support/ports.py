"""Free loopback ports (the OS picks), and waiting for something to listen: the development tools' own."""

from stack.ports import free_port, wait_for_port

__all__ = ["free_port", "wait_for_port"]
