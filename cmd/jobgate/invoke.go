package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// Limits of `jobgate invoke`.
const (
	// invokeMaxSteps bounds the polls and hops that follow one invocation.
	invokeMaxSteps = 1000
	// invokeDefaultWait is the polling interval when the server names none.
	invokeDefaultWait = time.Second
	// invokeMaxWait caps the interval a Retry-After may ask for.
	invokeMaxWait = 30 * time.Second
	// invokeMaxBody bounds the answers read (a job's output can be big, not unbounded).
	invokeMaxBody = 64 << 20
)

// errInvokeTimeout is the cause of the context ending when --timeout passes.
var errInvokeTimeout = errors.New("--timeout passed")

// invokeOptions is `jobgate invoke`'s command line, validated.
type invokeOptions struct {
	base, token, org, tenant, slug string
	mode                           string // canonical call mode; empty = the trigger's default
	method                         string // GET, POST, PUT or DELETE
	data                           string // -d: a JSON object
	args                           listFlag
	timeout                        time.Duration
	idempotencyKey                 string
}

// reportedError is a usage error the flag package has already printed.
type reportedError struct{ error }

func (e reportedError) Unwrap() error { return e.error }

// runInvoke implements `jobgate invoke`; it returns the process exit code: 0 when the job
// succeeded (or was accepted FireAndForget), 1 when it did not or the call failed, 2 for a
// usage error.
func runInvoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseInvokeOptions(args, getenv, stderr)
	if err != nil {
		var reported reportedError
		switch {
		case errors.Is(err, flag.ErrHelp):
			return 0
		case !errors.As(err, &reported):
			fmt.Fprintln(stderr, "jobgate invoke:", err)
		}
		return 2
	}
	target, err := triggerURL(o.base, o.org, o.tenant, o.slug)
	if err != nil {
		fmt.Fprintln(stderr, "jobgate invoke:", err)
		return 2
	}
	arguments, err := buildArguments(o.data, o.args)
	if err != nil {
		fmt.Fprintln(stderr, "jobgate invoke:", err)
		return 2
	}
	target, body, err := encodeInvocation(o.method, target, arguments, o.mode)
	if err != nil {
		fmt.Fprintln(stderr, "jobgate invoke:", err)
		return 2
	}

	ctx, cancel := context.WithTimeoutCause(ctx, o.timeout, errInvokeTimeout)
	defer cancel()
	iv := &invoker{
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // the call mode decides where to go next
		}},
		origin:  target,
		token:   o.token,
		timeout: o.timeout,
		log:     &progress{w: stderr},
		stdout:  stdout,
		now:     time.Now,
	}
	return iv.follow(ctx, o.method, target, body, o.idempotencyKey)
}

// parseInvokeOptions parses the command line. The slug may come first or after the flags:
// the flag package stops at the first non-flag, so the arguments after the slug are parsed
// again. Flags not given are then read from their environment variables.
func parseInvokeOptions(args []string, getenv func(string) string, stderr io.Writer) (invokeOptions, error) {
	var o invokeOptions
	fs := newFlagSet("invoke", "Call a trigger and follow its call mode to the job's output.", stderr)
	fs.StringVar(&o.base, "url", "http://127.0.0.1:8080", "base URL of the jobgate server")
	fs.StringVar(&o.token, "token", "", "bearer JWT; sent to the server's own origin only, never printed")
	fs.StringVar(&o.org, "org", "default", "organisation")
	fs.StringVar(&o.tenant, "tenant", "default", "tenant")
	fs.StringVar(&o.mode, "mode", "", "call mode: AsyncRequestReply, FireAndForget or LongPolling (empty = the trigger's default)")
	fs.StringVar(&o.data, "d", "", "input arguments as one JSON object")
	fs.Var(&o.args, "arg", "input argument k=v, repeatable, merged over -d; v is JSON when it parses, else a string")
	fs.StringVar(&o.method, "method", "POST", "HTTP method: GET, POST, PUT or DELETE (GET sends the arguments in the query string)")
	fs.DurationVar(&o.timeout, "timeout", 20*time.Minute, "give up waiting for the job after this long")
	fs.StringVar(&o.idempotencyKey, "idempotency-key", "", "Idempotency-Key header: repeating a key refers to the first job")
	flagUsage := fs.Usage
	fs.Usage = func() {
		flagUsage()
		fmt.Fprintln(stderr, "\nThe last argument, SLUG, names the trigger (flags may come before or after it).")
		fmt.Fprintln(stderr, "Exit status: 0 job Successful (or accepted FireAndForget), 1 job failed or call failed, 2 usage error.")
	}

	if err := fs.Parse(args); err != nil {
		return o, reportedError{err}
	}
	if rest := fs.Args(); len(rest) > 0 {
		o.slug = rest[0]
		if err := fs.Parse(rest[1:]); err != nil {
			return o, reportedError{err}
		}
		if fs.NArg() > 0 {
			return o, fmt.Errorf("unexpected argument %q after the slug %q", fs.Arg(0), o.slug)
		}
	}
	if err := parseFlags(fs, nil, getenv); err != nil { // only fills flags from the environment
		return o, err
	}

	var err error
	switch {
	case o.slug == "":
		return o, errors.New("missing SLUG: name the trigger to invoke, e.g. jobgate invoke add")
	case !validTenantName(o.org):
		return o, fmt.Errorf("--org %q: want 1 to 64 of A-Z a-z 0-9 _ -", o.org)
	case !validTenantName(o.tenant):
		return o, fmt.Errorf("--tenant %q: want 1 to 64 of A-Z a-z 0-9 _ -", o.tenant)
	case o.timeout <= 0:
		return o, fmt.Errorf("--timeout %s: must be positive", o.timeout)
	}
	if o.mode, err = canonicalMode(o.mode); err != nil {
		return o, err
	}
	switch m := strings.ToUpper(o.method); m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete:
		o.method = m
	default:
		return o, fmt.Errorf("--method %q: want GET, POST, PUT or DELETE", o.method)
	}
	return o, nil
}

// validTenantName reports whether s is a valid org or tenant name: [A-Za-z0-9_-]{1,64}.
func validTenantName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// canonicalMode returns the exact name of a call mode given in any letter case; empty stays
// empty (the trigger's default).
func canonicalMode(s string) (string, error) {
	for _, m := range []string{"AsyncRequestReply", "FireAndForget", "LongPolling"} {
		if strings.EqualFold(s, m) {
			return m, nil
		}
	}
	if s == "" {
		return "", nil
	}
	return "", fmt.Errorf("--mode %q: want AsyncRequestReply, FireAndForget or LongPolling", s)
}

// triggerURL builds BASE/{org}/{tenant}/orchestrator_/t/{slug}, each part path-escaped. The
// base may carry a path prefix (behind a proxy) but no query or fragment.
func triggerURL(base, org, tenant, slug string) (*url.URL, error) {
	b, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("--url %q: %v", base, err)
	}
	if (b.Scheme != "http" && b.Scheme != "https") || b.Host == "" {
		return nil, fmt.Errorf("--url %q: want an absolute http:// or https:// URL", base)
	}
	if b.RawQuery != "" || b.Fragment != "" || b.ForceQuery {
		return nil, fmt.Errorf("--url %q: want no query or fragment", base)
	}
	if slug == "" {
		return nil, errors.New("empty slug")
	}
	path := strings.TrimRight(b.EscapedPath(), "/") + "/" + url.PathEscape(org) + "/" +
		url.PathEscape(tenant) + "/orchestrator_/t/" + url.PathEscape(slug)
	return url.Parse(b.Scheme + "://" + b.Host + path)
}

// buildArguments merges the -d JSON object with the --arg k=v pairs (pairs win). A value is
// JSON when it parses as JSON (5, true, {"a":1}, "quoted"), else the literal string. Numbers
// keep their exact text.
func buildArguments(data string, pairs []string) (map[string]any, error) {
	args := map[string]any{}
	if strings.TrimSpace(data) != "" {
		v, err := decodeJSON(data)
		if err != nil {
			return nil, fmt.Errorf("-d: not valid JSON: %v", err)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("-d: want a JSON object like {\"x\": 1}, got %s", jobs.JSONKind(v))
		}
		args = obj
	}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("--arg %q: want name=value", p)
		}
		if k == "" {
			return nil, fmt.Errorf("--arg %q: empty name", p)
		}
		args[k] = parseArgValue(v)
	}
	return args, nil
}

// parseArgValue returns v decoded as JSON when it is JSON, else v itself.
func parseArgValue(v string) any {
	if parsed, err := decodeJSON(v); err == nil {
		return parsed
	}
	return v
}

// decodeJSON decodes exactly one JSON value, keeping numbers as json.Number.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// encodeInvocation puts the arguments, and $callMode when a mode is given, where the method
// wants them: a JSON object body for POST, PUT and DELETE, the query string for GET.
func encodeInvocation(method string, target *url.URL, args map[string]any, mode string) (*url.URL, []byte, error) {
	if method != http.MethodGet {
		body := make(map[string]any, len(args)+1)
		for k, v := range args {
			body[k] = v
		}
		if mode != "" {
			body["$callMode"] = mode
		}
		data, err := json.Marshal(body)
		return target, data, err
	}
	q := target.Query()
	for k, v := range args {
		s, err := queryValue(v)
		if err != nil {
			return nil, nil, fmt.Errorf("argument %q: %v", k, err)
		}
		q.Set(k, s)
	}
	if mode != "" {
		q.Set("$callMode", mode)
	}
	u := *target
	u.RawQuery = q.Encode()
	return &u, nil, nil
}

// queryValue renders an argument for the query string: strings as they are, anything else as
// its JSON text.
func queryValue(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// sameOrigin reports whether a and b have the same scheme, host and port (default ports
// made explicit). Only the trigger's own origin ever receives the token.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		effectivePort(a) == effectivePort(b)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// hasCapability reports whether u carries a ?cap= capability, which authorizes it alone.
func hasCapability(u *url.URL) bool {
	return u.Query().Get("cap") != ""
}

// sendsToken reports whether a request to target gets the bearer token: only on the
// trigger's origin, and not when a capability already authorizes the URL.
func sendsToken(origin, target *url.URL) bool {
	return sameOrigin(origin, target) && !hasCapability(target)
}

// retryAfter turns a Retry-After header (seconds or an HTTP date) into a wait, between 0 and
// invokeMaxWait; missing or unreadable means invokeDefaultWait.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return invokeDefaultWait
	}
	if n, err := strconv.ParseUint(h, 10, 63); err == nil || errors.Is(err, strconv.ErrRange) {
		return time.Duration(min(n, uint64(invokeMaxWait/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(t.Sub(now), 0), invokeMaxWait)
	}
	return invokeDefaultWait
}

// resolveLocation resolves a Location header against the URL that answered it.
func resolveLocation(current *url.URL, location string) (*url.URL, error) {
	if location == "" {
		return nil, errors.New("no Location header")
	}
	u, err := current.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("bad Location %q: %v", location, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("the Location has scheme %q: want http or https", u.Scheme)
	}
	return u, nil
}

// redactURL renders u for the progress lines with the capability's value (as good as a token
// for that job) and any password hidden.
func redactURL(u *url.URL) string {
	r := *u
	if q := u.Query(); q.Get("cap") != "" {
		q.Set("cap", "REDACTED")
		r.RawQuery = q.Encode()
	}
	return r.Redacted()
}

// invoker follows one invocation through its call mode.
type invoker struct {
	client  *http.Client // does not follow redirects: follow does
	origin  *url.URL     // the trigger URL; only its origin receives the token
	token   string
	timeout time.Duration
	log     *progress
	stdout  io.Writer
	now     func() time.Time
}

// phase is where an invocation stands, which decides what a 200 means.
type phase int

const (
	phaseInvoke phase = iota // the invocation itself: 200 is FireAndForget (empty) or the output
	phasePoll                // the status resource: 200 means still running
	phaseHop                 // a LongPolling hop: 200 is the output
	phaseOutput              // the output resource: 200 is the output
)

// jobSummary is what the 202 answer and the status resource say about a job.
type jobSummary struct {
	Key      string `json:"Key"`
	ID       int64  `json:"Id"`
	State    string `json:"State"`
	Progress *struct {
		Percent int    `json:"Percent"`
		Message string `json:"Message"`
	} `json:"Progress"`
}

// follow sends the invocation, then polls and hops as the answers say until the job's output,
// and returns the exit code.
func (iv *invoker) follow(ctx context.Context, method string, target *url.URL, body []byte, idempotencyKey string) int {
	req, err := iv.newRequest(ctx, method, target, body)
	if err != nil {
		iv.log.line("error: %v", err)
		return 1
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	label := method + " " + redactURL(target)
	at := phaseInvoke
	polls, hops := 0, 0
	for step := 0; ; step++ {
		if step > invokeMaxSteps {
			iv.log.line("error: gave up after %d polls and hops; the job may still be running", invokeMaxSteps)
			return 1
		}
		iv.log.begin(label)
		resp, data, err := iv.do(req)
		if err != nil {
			iv.log.end("failed")
			return iv.failed(ctx, req, err)
		}
		code := resp.StatusCode
		switch {
		case code == http.StatusAccepted:
			next, err := resolveLocation(req.URL, resp.Header.Get("Location"))
			if err != nil {
				iv.log.end("%s", statusLine(code))
				iv.log.line("error: the server accepted the job but its answer is unusable: %v", err)
				return 1
			}
			var s jobSummary
			_ = json.Unmarshal(data, &s) // the summary only decorates the progress line
			iv.log.end("%s, job %d (%s), status at %s", statusLine(code), s.ID, s.State, redactURL(next))
			if !iv.sleep(ctx, retryAfter(resp.Header.Get("Retry-After"), iv.now())) {
				return iv.failed(ctx, req, ctx.Err())
			}
			at, polls = phasePoll, polls+1
			label = fmt.Sprintf("poll %d", polls)
			if req, err = iv.newRequest(ctx, http.MethodGet, next, nil); err != nil {
				iv.log.line("error: %v", err)
				return 1
			}

		case code == http.StatusOK && at == phaseInvoke && len(bytes.TrimSpace(data)) == 0:
			iv.log.end("%s", statusLine(code))
			iv.log.line("job accepted (FireAndForget); not waiting for its result")
			return 0

		case code == http.StatusOK && at == phasePoll:
			var s jobSummary
			_ = json.Unmarshal(data, &s)
			wait := retryAfter(resp.Header.Get("Retry-After"), iv.now())
			iv.log.end("%d %s; next poll in %s", code, s.describe(), wait)
			if !iv.sleep(ctx, wait) {
				return iv.failed(ctx, req, ctx.Err())
			}
			polls++
			label = fmt.Sprintf("poll %d", polls)
			if req, err = iv.newRequest(ctx, http.MethodGet, req.URL, nil); err != nil {
				iv.log.line("error: %v", err)
				return 1
			}

		case code == http.StatusOK:
			iv.log.end("%s", statusLine(code))
			return iv.printOutput(data)

		case isRedirect(code) && (code == http.StatusFound || code == http.StatusSeeOther || req.Method == http.MethodGet):
			next, err := resolveLocation(req.URL, resp.Header.Get("Location"))
			if err != nil {
				iv.log.end("%s", statusLine(code))
				iv.log.line("error: cannot follow the redirect: %v", err)
				return 1
			}
			if at == phasePoll {
				iv.log.end("%s, job final", statusLine(code))
				at, label = phaseOutput, "GET "+redactURL(next)
			} else {
				hops++
				iv.log.end("%s, job still running", statusLine(code))
				at, label = phaseHop, fmt.Sprintf("hop %d GET %s", hops, redactURL(next))
			}
			if req, err = iv.newRequest(ctx, http.MethodGet, next, nil); err != nil {
				iv.log.line("error: %v", err)
				return 1
			}

		default:
			iv.log.end("%s", statusLine(code))
			for _, l := range describeFailure(code, data) {
				iv.log.line("%s", l)
			}
			if code == http.StatusUnauthorized {
				iv.hintUnauthorized(req.URL)
			}
			return 1
		}
	}
}

// newRequest builds a request that carries the token only where sendsToken allows.
func (iv *invoker) newRequest(ctx context.Context, method string, target *url.URL, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target.String(), r)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", method, redactURL(target), err)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", "jobgate-invoke")
	if iv.token != "" && sendsToken(iv.origin, target) {
		req.Header.Set("Authorization", "Bearer "+iv.token)
	}
	return req, nil
}

// do sends req and reads the whole answer (bounded).
func (iv *invoker) do(req *http.Request) (*http.Response, []byte, error) {
	resp, err := iv.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, invokeMaxBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the answer: %w", err)
	}
	if len(data) > invokeMaxBody {
		return nil, nil, fmt.Errorf("the answer is larger than %d MiB", invokeMaxBody>>20)
	}
	return resp, data, nil
}

// failed reports a request that got no answer, telling a --timeout or an interrupt apart from
// a network error, and returns the exit code.
func (iv *invoker) failed(ctx context.Context, req *http.Request, err error) int {
	switch {
	case context.Cause(ctx) == errInvokeTimeout:
		iv.log.line("error: gave up after %s (--timeout); the job may still be running on the server", iv.timeout)
	case ctx.Err() != nil:
		iv.log.line("error: interrupted; the job may still be running on the server")
	default:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL unredacted
		}
		iv.log.line("error: %s %s: %v", req.Method, redactURL(req.URL), err)
	}
	return 1
}

// hintUnauthorized explains a 401 that the client itself may have caused.
func (iv *invoker) hintUnauthorized(target *url.URL) {
	switch {
	case iv.token == "":
		iv.log.line("hint: no token was sent: pass --token or set JOBGATE_TOKEN")
	case !sameOrigin(iv.origin, target):
		iv.log.line("hint: the token was not sent to %s://%s, which is not the trigger's origin", target.Scheme, target.Host)
	}
}

// sleep waits d, or less if ctx ends first; it reports whether the full wait passed.
func (iv *invoker) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// printOutput prints the job's output JSON, indented, on stdout.
func (iv *invoker) printOutput(data []byte) int {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(data), "", "  "); err != nil {
		iv.log.line("error: the job's output is not JSON: %v", err)
		return 1
	}
	buf.WriteByte('\n')
	if _, err := iv.stdout.Write(buf.Bytes()); err != nil {
		iv.log.line("error: writing the output: %v", err)
		return 1
	}
	return 0
}

// describe renders a job summary for a progress line: "Running 40% step 2".
func (s jobSummary) describe() string {
	if s.State == "" {
		return "(no job state in the answer)"
	}
	d := s.State
	if p := s.Progress; p != nil {
		d += fmt.Sprintf(" %d%%", p.Percent)
		if p.Message != "" {
			d += " " + p.Message
		}
	}
	return d
}

// problemDoc is an RFC 9457 problem with jobgate's extension members (docs/api.md §2–§9; docs/api.md §13).
type problemDoc struct {
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	RequestID string `json:"requestId"`
	Errors    []struct {
		Name   string `json:"name"`
		Detail string `json:"detail"`
	} `json:"errors"`
	JobState string  `json:"jobState"`
	Info     *string `json:"info"`
	JobKey   string  `json:"jobKey"`
}

// describeFailure renders an error answer as stderr lines: "job K ended Faulted: info" for a
// failed job's output, else "error: 400 Bad Request: detail" and one line per errors[] entry.
// A body that is not a problem document is shown (shortened) as the detail.
func describeFailure(status int, body []byte) []string {
	var p problemDoc
	if err := json.Unmarshal(body, &p); err != nil {
		p = problemDoc{Detail: shorten(string(body), 200)}
	}
	if p.JobState != "" {
		info := "(no info)"
		if p.Info != nil && *p.Info != "" {
			info = *p.Info
		}
		return []string{fmt.Sprintf("job %s ended %s: %s", p.JobKey, p.JobState, info)}
	}
	if p.Title == "" {
		p.Title = http.StatusText(status)
	}
	first := fmt.Sprintf("error: %d %s", status, p.Title)
	if p.Detail != "" {
		first += ": " + p.Detail
	}
	lines := []string{first}
	for _, e := range p.Errors {
		lines = append(lines, fmt.Sprintf("  %s: %s", e.Name, e.Detail))
	}
	if p.RequestID != "" {
		lines = append(lines, "  request id: "+p.RequestID)
	}
	return lines
}

// shorten makes s one line of at most n bytes.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

func statusLine(code int) string {
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

// progress writes the one-line-per-step progress on stderr. A step's line is begun before its
// request (a LongPolling hop is held for long) and ended with the answer.
type progress struct {
	w    io.Writer
	open bool
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
