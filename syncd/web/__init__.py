"""The HTTP face of the daemon: health today, webhooks and metrics to come."""
