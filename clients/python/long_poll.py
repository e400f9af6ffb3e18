"""LongPolling from Python with urllib.request (standard library only).

urllib follows at most 10 redirects, turning a POST answered 303 into a GET and keeping the
Authorization header. Send `Prefer: wait=N`: every hop then lasts N seconds (up to the server's
--long-poll-hop-max), so 10 hops cover a job of up to 10 x N seconds. The timeout is per socket
operation: keep it above N.

Run: python3 long_poll.py
Environment: TRIGGER_URL, TOKEN, ARGS (the JSON body), WAIT (seconds per hop).
"""
import os
import sys
import urllib.error
import urllib.request

wait = int(os.environ["WAIT"])
request = urllib.request.Request(
    os.environ["TRIGGER_URL"],
    data=os.environ["ARGS"].encode(),
    method="POST",
    headers={
        "Authorization": "Bearer " + os.environ["TOKEN"],
        "Content-Type": "application/json",
        "Prefer": f"wait={wait}",
    },
)
try:
    with urllib.request.urlopen(request, timeout=wait + 30) as response:
        print(response.read().decode())
except urllib.error.HTTPError as e:  # 4xx, or 500 for a Faulted job: a problem+json
    print(e.code, e.read().decode(), file=sys.stderr)
    sys.exit(1)
