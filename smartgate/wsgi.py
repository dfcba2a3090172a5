import os

from django.core.signals import request_finished
from django.core.wsgi import get_wsgi_application

from smartgate import gc_freeze

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartgate.settings")
application = get_wsgi_application()
# The server's long-lived objects out of the collector's way (smartgate/gc_freeze.py).
request_finished.connect(gc_freeze.after_request, dispatch_uid="smartgate.gc_freeze")
