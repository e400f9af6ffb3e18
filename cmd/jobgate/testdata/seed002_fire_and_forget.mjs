// Seed 002 (UiPath Orchestrator, "Explication des modes d'appel"): the browser sample for the
// FireAndForget call mode, replayed as written with Node's global fetch.
// Substituted from process.env: url (TRIGGER_URL), token (TOKEN) and the sample arguments
// (ARGS, a JSON object such as {"x": 2, "y": 3}); the last line prints the result as JSON for
// the Go test.
const url = process.env.TRIGGER_URL;
const token = process.env.TOKEN; // could also be an access token retrieved via OAuth
const body = {
...JSON.parse(process.env.ARGS),
'$callMode': 'FireAndForget' // optional argument to force call mode to FireAndForget
}
const options = {
method: 'POST',
headers: new Headers({ 'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json' }),
body: JSON.stringify(body),
};
let response = await fetch(url, options);
console.log(`Got ${response.status}`);

console.log(JSON.stringify({ status: response.status, body: await response.text() }));
