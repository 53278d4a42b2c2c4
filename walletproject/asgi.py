"""ASGI entry point (not used by `make run`, which serves WSGI with granian: `walletproject.serve`)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

application = get_asgi_application()
