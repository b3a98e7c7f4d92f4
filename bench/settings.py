"""Settings for benchmark runs: the product's settings, plus a bench-only URLconf.

The bench's gunicorn (and `python -m bench` itself) use DJANGO_SETTINGS_MODULE=bench.settings
so that the constant baseline endpoint of bench/urls.py exists there and nowhere else: the
product's own URLs never carry it. BENCH_ROOT_URLCONF picks another URLconf (e.g.
"tracker.urls" to prove the product alone is served).
"""

import os

from tracker.settings import *  # noqa: F403

ROOT_URLCONF = os.environ.get("BENCH_ROOT_URLCONF", "bench.urls")
