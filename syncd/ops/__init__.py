"""What ops run against a live deployment: resync, status, and the one-command stack."""
