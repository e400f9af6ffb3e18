package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/jobgate/jobgate/client"
)

// progress writes `jobgate invoke`'s one-line-per-step progress on stderr. A step's line is
// begun before its request (a LongPolling hop is held for long) and ended with the answer.
type progress struct {
	w    io.Writer
	open bool
}

// event renders one client.Event.
func (p *progress) event(e client.Event) {
	if !e.Answered {
		p.begin(stepLabel(e))
		return
	}
	status := statusLine(e.Status)
	switch {
	case e.Status == http.StatusAccepted && e.Job != nil:
		p.end("%s, job %d (%s), status at %s", status, e.Job.ID, e.Job.State, client.Redact(e.Next))
	case e.Status == http.StatusOK && e.Step == client.StepPoll && e.Job != nil:
		p.end("%d %s; next poll in %s", e.Status, e.Job, e.Wait)
	case e.Next != nil && e.Step == client.StepPoll:
		p.end("%s, job final", status)
	case e.Next != nil:
		p.end("%s, job still running", status)
	default:
		p.end("%s", status)
	}
}

// stepLabel names a request: "POST URL", "poll 2", "hop 3 GET URL", "GET URL".
func stepLabel(e client.Event) string {
	switch e.Step {
	case client.StepPoll:
		return fmt.Sprintf("poll %d", e.N)
	case client.StepHop:
		return fmt.Sprintf("hop %d GET %s", e.N, client.Redact(e.URL))
	}
	return e.Method + " " + client.Redact(e.URL)
}

// failure reports why a call failed, telling a --timeout or an interrupt apart from a
// refusal, a failed job or a network error.
func (p *progress) failure(ctx context.Context, err error, o invokeOptions, origin *url.URL) {
	var problem *client.ProblemError
	switch {
	case context.Cause(ctx) == errInvokeTimeout:
		p.line("error: gave up after %s (--timeout); the job may still be running on the server", o.timeout)
	case ctx.Err() != nil:
		p.line("error: interrupted; the job may still be running on the server")
	case errors.As(err, &problem) || errors.As(err, new(*client.JobError)):
		for _, l := range describeFailure(err) {
			p.line("%s", l)
		}
		if problem != nil && problem.Status == http.StatusUnauthorized {
			p.hintUnauthorized(o.token, origin, problem.URL)
		}
	default:
		p.line("error: %v", err)
	}
}

// hintUnauthorized explains a 401 that the client itself may have caused.
func (p *progress) hintUnauthorized(token string, origin, target *url.URL) {
	switch {
	case token == "":
		p.line("hint: no token was sent: pass --token or set JOBGATE_TOKEN")
	case !client.SameOrigin(origin, target):
		p.line("hint: the token was not sent to %s://%s, which is not the trigger's origin", target.Scheme, target.Host)
	}
}

// describeFailure renders a failed job ("job K ended Faulted: info") or a refusal ("error:
// 400 Bad Request: detail", one line per errors[] entry, and the request id) as lines.
func describeFailure(err error) []string {
	var job *client.JobError
	if errors.As(err, &job) {
		return []string{job.Error()}
	}
	var p *client.ProblemError
	if !errors.As(err, &p) {
		return []string{"error: " + err.Error()}
	}
	lines := []string{"error: " + p.Error()}
	for _, e := range p.Errors {
		lines = append(lines, fmt.Sprintf("  %s: %s", e.Name, e.Detail))
	}
	if p.RequestID != "" {
		lines = append(lines, "  request id: "+p.RequestID)
	}
	return lines
}

func statusLine(code int) string {
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

func (p *progress) begin(label string) {
	fmt.Fprint(p.w, label)
	p.open = true
}

func (p *progress) end(format string, a ...any) {
	fmt.Fprintf(p.w, " → "+format+"\n", a...)
	p.open = false
}

// line writes a whole line, first closing a begun one.
func (p *progress) line(format string, a ...any) {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
	fmt.Fprintf(p.w, format+"\n", a...)
}
