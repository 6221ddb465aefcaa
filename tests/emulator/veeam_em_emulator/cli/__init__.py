"""Command-line interface package of the EM emulator."""
