"""``python -m sessionware.cli``: the same as the ``sessionware`` command."""

from . import main

main()
