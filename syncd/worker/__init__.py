"""The Celery side of the daemon: the broker it talks through, the app and its tasks."""
