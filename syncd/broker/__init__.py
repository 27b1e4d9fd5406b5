"""Where the Redis broker is, and the embedded one started when none is configured.

Its own adapter because every process needs it: the worker and beat for Celery, a manual sync
for shared request pacing, `syncd status` and /health to see whether the daemon is there.
"""
