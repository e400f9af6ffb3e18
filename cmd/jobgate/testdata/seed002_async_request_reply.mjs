// Seed 002 (UiPath Orchestrator, "Explication des modes d'appel"): the browser sample for the
// AsyncRequestReply call mode, replayed as written with Node's global fetch.
// Substituted from process.env: url (TRIGGER_URL), token (TOKEN), the sample arguments
// (ARGS, a JSON object such as {"x": 2, "y": 3}) and SLEEP_DURATION (milliseconds), which the
// sample uses without defining. The seed's excerpt stops before the for loop's closing brace,
// added below; the last line prints the result as JSON for the Go test.
const SLEEP_DURATION = Number(process.env.SLEEP_DURATION);

const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms));
const url = process.env.TRIGGER_URL;
const token = process.env.TOKEN; // could also be an access token retrieved via OAuth
const body = {
...JSON.parse(process.env.ARGS),
'$callMode': 'AsyncRequestReply' // optional argument to force call mode to AsyncRequestReply
}
// if invocation is done by GET, place the parameters in query string and remove the 'Content-Type' header
const invokeRequestOptions = {
method: 'POST',
headers: new Headers({ 'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json' }),
body: JSON.stringify(body),
};
const redirectRequestOptions = {
method: "GET",
credentials: 'same-origin',
headers: new Headers({ Authorization: `Bearer ${token}` }),
redirect: "follow", // this option must be set to follow, otherwise an 'opaqueredirect' response is returned
};
const response = await fetch(url, invokeRequestOptions);
let newLocation = response.headers.get("Location");
// first response should be 202 and have a location header
console.log(`Got ${response.status}, with location: ${newLocation}`);
for (let i = 0; i < 20; i++) {
await sleep(SLEEP_DURATION);
// follow the location header to the new endpoint
const statusResponse = await fetch(newLocation, redirectRequestOptions);
// if the response was redirected (and automatically followed), then the output endpoint has been reached
// the output of the job can be found in the body of the response in JSON format
if (statusResponse.status != 200 || statusResponse.redirected)
{
// read the job output
const output = await statusResponse.json();
console.log(`Got ${statusResponse.status}, with body: ${JSON.stringify(output)}`);
break;
}
} // (closes the for loop; not in the seed's excerpt)

console.log(JSON.stringify({ invokeStatus: response.status, location: newLocation }));
