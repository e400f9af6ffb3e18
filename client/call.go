package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// call follows one invocation through its call mode: each answer decides the next request.
type call struct {
	c      *Client
	origin *url.URL      // the trigger URL; only its origin receives the token
	req    *http.Request // the next request to send
	step   Step
	n      int // the number of the current poll or hop
	polls  int
	hops   int
}

// run sends requests until the job's output, a failure, or MaxSteps.
func (cl *call) run(ctx context.Context) (json.RawMessage, error) {
	for range MaxSteps + 1 {
		cl.emit(Event{})
		a, err := cl.c.do(cl.req)
		if err != nil {
			return nil, err
		}
		out, done, err := cl.handle(ctx, a)
		if done || err != nil {
			return out, err
		}
	}
	return nil, fmt.Errorf("gave up after %d polls and hops; the job may still be running: %w", MaxSteps, ErrTooManySteps)
}

// handle reads one answer: it returns the outcome when the call is done, else prepares the
// next request.
func (cl *call) handle(ctx context.Context, a answer) (json.RawMessage, bool, error) {
	switch {
	case a.status == http.StatusAccepted:
		return nil, false, cl.accepted(ctx, a)
	case a.status == http.StatusOK && cl.step == StepInvoke && len(bytes.TrimSpace(a.body)) == 0:
		cl.emit(Event{Answered: true, Status: a.status})
		return nil, true, nil // FireAndForget: accepted
	case a.status == http.StatusOK && cl.step == StepPoll:
		return nil, false, cl.polled(ctx, a)
	case a.status == http.StatusOK:
		cl.emit(Event{Answered: true, Status: a.status})
		if !json.Valid(a.body) {
			return nil, true, errors.New("the job's output is not JSON")
		}
		return json.RawMessage(bytes.TrimSpace(a.body)), true, nil
	case isRedirect(a.status) && (a.status == http.StatusFound || a.status == http.StatusSeeOther || cl.req.Method == http.MethodGet):
		return nil, false, cl.redirected(ctx, a)
	default:
		cl.emit(Event{Answered: true, Status: a.status})
		return nil, true, decodeFailure(a, cl.req)
	}
}

// accepted follows a 202 (AsyncRequestReply): wait Retry-After, then poll its Location.
func (cl *call) accepted(ctx context.Context, a answer) error {
	next, err := resolveLocation(cl.req.URL, a.header.Get("Location"))
	if err != nil {
		cl.emit(Event{Answered: true, Status: a.status})
		return fmt.Errorf("the server accepted the job but its answer is unusable: %w", err)
	}
	var s JobSummary
	_ = json.Unmarshal(a.body, &s) // the summary only decorates the progress report
	wait := retryAfter(a.header.Get("Retry-After"), cl.c.now())
	cl.emit(Event{Answered: true, Status: a.status, Job: &s, Next: next, Wait: wait})
	if err := sleep(ctx, wait); err != nil {
		return fmt.Errorf("waiting to poll %s: %w", Redact(next), err)
	}
	cl.polls++
	return cl.prepare(ctx, StepPoll, cl.polls, next)
}

// polled handles a 200 from the status resource: the job still runs; poll again after
// Retry-After.
func (cl *call) polled(ctx context.Context, a answer) error {
	var s JobSummary
	_ = json.Unmarshal(a.body, &s)
	wait := retryAfter(a.header.Get("Retry-After"), cl.c.now())
	cl.emit(Event{Answered: true, Status: a.status, Job: &s, Next: cl.req.URL, Wait: wait})
	if err := sleep(ctx, wait); err != nil {
		return fmt.Errorf("waiting to poll %s: %w", Redact(cl.req.URL), err)
	}
	cl.polls++
	return cl.prepare(ctx, StepPoll, cl.polls, cl.req.URL)
}

// redirected follows a 302 or 303: from the status resource to the output, otherwise to the
// next LongPolling hop.
func (cl *call) redirected(ctx context.Context, a answer) error {
	next, err := resolveLocation(cl.req.URL, a.header.Get("Location"))
	if err != nil {
		cl.emit(Event{Answered: true, Status: a.status})
		return fmt.Errorf("cannot follow the redirect: %w", err)
	}
	cl.emit(Event{Answered: true, Status: a.status, Next: next})
	if cl.step == StepPoll {
		return cl.prepare(ctx, StepOutput, 0, next)
	}
	cl.hops++
	return cl.prepare(ctx, StepHop, cl.hops, next)
}

// prepare makes the next request, a GET of target.
func (cl *call) prepare(ctx context.Context, step Step, n int, target *url.URL) error {
	req, err := cl.c.newRequest(ctx, cl.origin, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	cl.req, cl.step, cl.n = req, step, n
	return nil
}

// emit completes e with the current request and hands it to the progress callback.
func (cl *call) emit(e Event) {
	if cl.c.progress == nil {
		return
	}
	e.Step, e.N, e.Method, e.URL = cl.step, cl.n, cl.req.Method, cl.req.URL
	cl.c.progress(e)
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}
