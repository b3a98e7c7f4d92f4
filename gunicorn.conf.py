"""Gunicorn settings read automatically from the working directory (docker-compose, Dockerfile).

Access log lines carry the path without its query string and without the referrer: a search
for a patient's name or NHS number must never reach a log file (docs/security.md).
"""

access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
