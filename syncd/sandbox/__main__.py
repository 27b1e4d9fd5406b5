"""``python -m syncd.sandbox`` runs the Thulium simulator (``syncd.sandbox.thulium.main``): the command tests,
the demo and ``syncd sandbox`` have always used."""

from syncd.sandbox.thulium.main import main

if __name__ == "__main__":
    main()
