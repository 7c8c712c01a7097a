"""Framework integrations: ``flask``, ``django`` and ``starlette``.

Each module imports its framework, so import the one you use directly
(``from sessionware.integrations.flask import init_app``).
"""
