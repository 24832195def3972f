"""The command line: `probe funny`, `probe ask`, `probe report`, `probe batch` and the rest."""
