// LongPolling with fetch, as a browser (or Node 18+) runs it: redirect: "follow" takes the
// hops; the Authorization header is kept on same-origin redirects (a cross-origin page needs
// the tenant's requireAuthOnRedirects: false, and the server's --cors-origins). Browsers
// follow at most 20 redirects: `Prefer: wait=N` makes every hop N seconds.
// Run: node long_poll.mjs
// Environment: TRIGGER_URL, TOKEN, ARGS (the JSON body), WAIT (seconds per hop).
const response = await fetch(process.env.TRIGGER_URL, {
  method: 'POST',
  headers: {
    'Authorization': `Bearer ${process.env.TOKEN}`,
    'Content-Type': 'application/json',
    'Prefer': `wait=${process.env.WAIT}`,
  },
  body: process.env.ARGS,
  redirect: 'follow',
});
const answer = await response.text();
if (!response.ok) { // 4xx, or 500 for a Faulted job: a problem+json
  console.error(response.status, answer);
  process.exit(1);
}
console.log(answer);
