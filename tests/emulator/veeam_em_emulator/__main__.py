"""Allow ``python -m veeam_em_emulator`` (delegates to the CLI entry point)."""

from veeam_em_emulator.cli.__main__ import main

if __name__ == "__main__":
    raise SystemExit(main())
