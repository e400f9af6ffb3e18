package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Limits of one invocation.
const (
	// MaxSteps bounds the polls and hops that follow one invocation.
	MaxSteps = 1000
	// defaultPollWait is the polling interval when the server names none.
	defaultPollWait = time.Second
	// maxPollWait caps the interval a Retry-After may ask for.
	maxPollWait = 30 * time.Second
	// maxBody bounds the answers read (a job's output can be big, not unbounded).
	maxBody = 64 << 20
)

// ErrTooManySteps is returned (wrapped) when a call took MaxSteps polls and hops without
// reaching the job's output; the job may still be running.
var ErrTooManySteps = errors.New("too many polls and hops")

// Mode is a call mode. The zero value asks for the trigger's default mode.
type Mode string

// The call modes.
const (
	DefaultMode       Mode = ""
	AsyncRequestReply Mode = "AsyncRequestReply"
	FireAndForget     Mode = "FireAndForget"
	LongPolling       Mode = "LongPolling"
)

// Tenant names the organisation and tenant a trigger belongs to.
type Tenant struct {
	Org  string
	Name string
}

// Client calls triggers of one jobgate server. It is safe for concurrent use.
type Client struct {
	base      string
	token     string
	http      *http.Client
	progress  func(Event)
	userAgent string
	now       func() time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithToken sets the bearer token (a JWT for the tenant). It is sent to the base URL's origin
// only, and not with capability URLs.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient sets the HTTP client (transport, TLS, proxy). Its redirect policy is
// replaced: the call mode decides where to go next. Default: a client with Go's default
// transport and no overall timeout (use the context).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		cp := *hc
		c.http = &cp
	}
}

// WithProgress sets a callback called before each request and after each answer, from the
// goroutine that called Invoke. Default: none.
func WithProgress(fn func(Event)) Option { return func(c *Client) { c.progress = fn } }

// WithUserAgent sets the User-Agent header. Default "jobgate-client".
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the server at baseURL (e.g. "https://jobs.example", which may carry
// a path prefix behind a proxy). A bad base URL is reported by Invoke.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{base: baseURL, http: &http.Client{}, userAgent: "jobgate-client", now: time.Now}
	for _, o := range opts {
		o(c)
	}
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // the call mode decides where to go next
	}
	return c
}

// CallOption configures one Invoke.
type CallOption func(*callOptions)

type callOptions struct {
	method         string
	idempotencyKey string
}

// WithMethod sets the trigger's HTTP method: POST (default), PUT, DELETE or GET. GET sends
// the arguments in the query string, each as its JSON text (a string as it is).
func WithMethod(method string) CallOption { return func(o *callOptions) { o.method = method } }

// WithIdempotencyKey sends an Idempotency-Key: repeating a key (with the same arguments)
// refers to the first job instead of starting another.
func WithIdempotencyKey(key string) CallOption {
	return func(o *callOptions) { o.idempotencyKey = key }
}

// Invoke calls the trigger slug of tenant t with args and follows its call mode until the
// job's output, which it returns as JSON. FireAndForget returns nil output and a nil error
// once the job is accepted. Errors: *JobError (the job ended Faulted or Stopped),
// *ProblemError (the server refused a request), or a wrapped context, network or
// ErrTooManySteps error.
func (c *Client) Invoke(ctx context.Context, t Tenant, slug string, args map[string]any, mode Mode, opts ...CallOption) (json.RawMessage, error) {
	o := callOptions{method: http.MethodPost}
	for _, f := range opts {
		f(&o)
	}
	target, err := TriggerURL(c.base, t, slug)
	if err != nil {
		return nil, err
	}
	target, body, err := encodeInvocation(o.method, target, args, mode)
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, target, o.method, target, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if o.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", o.idempotencyKey)
	}
	cl := &call{c: c, origin: target, req: req, step: StepInvoke}
	return cl.run(ctx)
}

// TriggerURL builds BASE/{org}/{tenant}/orchestrator_/t/{slug}, each part path-escaped. The
// base may carry a path prefix but no query or fragment.
func TriggerURL(base string, t Tenant, slug string) (*url.URL, error) {
	b, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("base URL %q: %v", base, err)
	}
	if (b.Scheme != "http" && b.Scheme != "https") || b.Host == "" {
		return nil, fmt.Errorf("base URL %q: want an absolute http:// or https:// URL", base)
	}
	if b.RawQuery != "" || b.Fragment != "" || b.ForceQuery {
		return nil, fmt.Errorf("base URL %q: want no query or fragment", base)
	}
	if slug == "" {
		return nil, errors.New("empty slug")
	}
	path := trimSlash(b.EscapedPath()) + "/" + url.PathEscape(t.Org) + "/" +
		url.PathEscape(t.Name) + "/orchestrator_/t/" + url.PathEscape(slug)
	return url.Parse(b.Scheme + "://" + b.Host + path)
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}
