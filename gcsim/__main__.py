"""``python -m gcsim``: the ``gcsim`` command line (:func:`gcsim.cli.main`)."""

from gcsim.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
