"""The command line (`syncd --help`): typer commands that call the application layer and print."""
