"""`python -m bench [--quick] [--only 1,3] [--no-docs]`: see bench/runner.py."""

import os
import sys
import tempfile


def main() -> int:
    from bench import env

    url = env.database_url()
    env._database_name(url)  # refuse anything not named *bench* before touching it
    # The bench never runs on the developer's or the product's database.
    os.environ["DATABASE_URL"] = url
    os.environ["REDIS_URL"] = env.redis_url()
    os.environ.setdefault("DJANGO_ENV", "test")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="tracker-bench-"))
    os.environ.setdefault("AXES_ENABLED", "0")

    from bench.runner import main as run

    return run(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
