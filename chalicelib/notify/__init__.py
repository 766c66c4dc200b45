"""Delivery: channels (SNS mobile push, Web Push, inbox), payloads, fan-out worker."""
