"""``python -m syncd.sandbox.wolkvox``: see ``main``."""

from syncd.sandbox.wolkvox.main import main

if __name__ == "__main__":
    main()
