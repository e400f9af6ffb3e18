// Package client calls jobgate triggers from Go and follows their call mode to the job's
// output.
//
// One call, Client.Invoke, sends the invocation and then does whatever the answers ask: it
// polls a 202's status URL as often as its Retry-After says (AsyncRequestReply), follows the
// 302 or 303 from a status URL to the output, and follows LongPolling hops for as long as the
// job runs (no redirect cap applies: each hop is a request of its own). It sends the bearer
// token only to the trigger's own origin and never with a capability URL (?cap=), which
// authorizes itself. It stops when its context ends and reports each step to an optional
// progress callback.
//
// The outcome is the job's output as JSON, or an error: a *JobError when the job ended Faulted
// or Stopped, a *ProblemError when the server refused the call (an RFC 9457 problem: 400, 401,
// 404, 429, 5xx …), or a wrapped context or network error.
//
//	c := client.New("http://127.0.0.1:8080", client.WithToken(token))
//	out, err := c.Invoke(ctx, client.Tenant{Org: "default", Name: "default"}, "add",
//		map[string]any{"x": 2, "y": 3}, client.LongPolling)
//
// `jobgate invoke` is a thin command line around this package.
package client
