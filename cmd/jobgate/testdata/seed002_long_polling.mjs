// Seed 002 (UiPath Orchestrator, "Explication des modes d'appel"): the browser sample for the
// LongPolling call mode, replayed as written with Node's global fetch.
// Substituted from process.env: url (TRIGGER_URL), token (TOKEN) and the sample arguments
// (ARGS, a JSON object such as {"x": 2, "y": 3}); the last line prints the result as JSON for
// the Go test, with where fetch's redirect following ended.
const url = process.env.TRIGGER_URL;
const token = process.env.TOKEN; // could also be an access token retrieved via OAuth
const body = {
...JSON.parse(process.env.ARGS),
'$callMode': 'LongPolling' // optional argument to force call mode to LongPolling
}
const options = {
method: 'POST',
headers: new Headers({ 'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json' }),
body: JSON.stringify(body),
redirect: "follow", // follow redirects automatically
};
let response = await fetch(url, options);
const output = await response.json();
console.log(`Got ${response.status} with body ${JSON.stringify(output)}`);

console.log(JSON.stringify({ status: response.status, redirected: response.redirected, url: response.url, output }));
