"""Ships Python logging records to Basin with python-logging-loki.

Usage: loki_handler.py BASE_URL RUN_ID
"""
import logging
import sys

import logging_loki

base, run_id = sys.argv[1], sys.argv[2]
handler = logging_loki.LokiHandler(
    url=f"{base}/loki/api/v1/push",
    tags={"application": "billing"},
    version="1",
)
log = logging.getLogger("billing")
log.setLevel(logging.INFO)
log.propagate = False
log.addHandler(handler)
log.info("invoice sent run=%s", run_id)
log.error("invoice failed run=%s", run_id, extra={"tags": {"customer": "acme"}})
print("sent")
