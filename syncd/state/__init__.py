"""The state DB: links, cursors, runs, failures, campaign members, and the daemon's jobs and leases."""
