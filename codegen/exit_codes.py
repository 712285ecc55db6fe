"""The CLI's exit codes, shared by every subcommand."""

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_STALE, EXIT_IMPORT_FAILED = 0, 1, 2, 3, 4
