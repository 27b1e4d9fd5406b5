"""The HTTP face of the daemon: /health, /metrics and the receiver of Thulium's webhooks."""
