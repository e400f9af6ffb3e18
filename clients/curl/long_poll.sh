#!/bin/sh
# LongPolling with curl: -L follows the hops (curl keeps the Authorization header on redirects
# to the same host and switches POST to GET on a 303); `Prefer: wait=N` makes every hop N
# seconds; --max-time bounds the whole call; --fail-with-body exits 22 on a problem answer.
# Environment: TRIGGER_URL, TOKEN, ARGS (the JSON body), WAIT (seconds per hop).
exec curl -sS -L --fail-with-body --max-time 1200 \
	-H "Authorization: Bearer $TOKEN" \
	-H "Prefer: wait=$WAIT" \
	-H 'Content-Type: application/json' \
	-d "$ARGS" "$TRIGGER_URL"
