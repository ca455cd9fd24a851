"""The `groundup` command line."""
