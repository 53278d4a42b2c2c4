"""WSGI entry point: `walletproject.serve` runs it under granian (one server per port)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

application = get_wsgi_application()
