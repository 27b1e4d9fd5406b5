"""Read-only activity streams: Thulium's call history and reports, and Wolkvox's chat counts, copied into
tables of the tenant's database (see docs/activity.md)."""
