"""The Wolkvox API client: the one adapter of the Wolkvox chat counts stream."""
