"""Loopback fakes of outside systems that speak their real wire protocols."""
