"""Health check: exit 0 when an HTTP server answers at the URL (any status, e.g. 401 without a token)."""

import sys
import urllib.error
import urllib.request

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8765/"
try:
    urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=5)
except urllib.error.HTTPError:
    pass  # it answered
except OSError as exc:
    print(f"{url}: {exc}", file=sys.stderr)
    sys.exit(1)
