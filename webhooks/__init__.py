"""Webhooks: integrators hear about money as it moves (issue #34)."""
