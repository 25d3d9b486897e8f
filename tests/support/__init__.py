"""Helpers that only the tests use: the answer keys a leak check looks for, the course's functional form."""
