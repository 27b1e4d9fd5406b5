"""The state DB: links, cursors, runs, failures and campaign members."""
