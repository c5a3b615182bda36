"""Counters that brake guessing (sign-in, the public verification page), shared by every worker."""
