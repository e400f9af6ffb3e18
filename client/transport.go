package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file is the HTTP plumbing every jobgate caller needs, whatever it calls: requests that
// carry the token only where it belongs, bounded answers, Retry-After waits and Location
// handling.

// answer is a read HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// newRequest builds a request to target that carries the token only where sendsToken allows
// it for a call that started at origin.
func (c *Client) newRequest(ctx context.Context, origin *url.URL, method string, target *url.URL, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target.String(), r)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", method, Redact(target), err)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" && sendsToken(origin, target) {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// do sends req and reads the whole answer (bounded). Its errors name the request with any
// capability redacted.
func (c *Client) do(req *http.Request) (answer, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL unredacted
		}
		if cause := context.Cause(req.Context()); cause != nil {
			err = cause
		}
		return answer{}, fmt.Errorf("%s %s: %w", req.Method, Redact(req.URL), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: reading the answer: %w", req.Method, Redact(req.URL), err)
	}
	if len(data) > maxBody {
		return answer{}, fmt.Errorf("%s %s: the answer is larger than %d MiB", req.Method, Redact(req.URL), maxBody>>20)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// sleep waits d, or less if ctx ends first, in which case it returns the context's cause.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// retryAfter turns a Retry-After header (seconds or an HTTP date) into a wait, between 0 and
// maxPollWait; missing or unreadable means defaultPollWait.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return defaultPollWait
	}
	if n, err := strconv.ParseUint(h, 10, 63); err == nil || errors.Is(err, strconv.ErrRange) {
		return time.Duration(min(n, uint64(maxPollWait/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(t.Sub(now), 0), maxPollWait)
	}
	return defaultPollWait
}

// SameOrigin reports whether a and b have the same scheme, host and port (default ports made
// explicit). Only the trigger's own origin ever receives the token.
func SameOrigin(a, b *url.URL) bool {
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
	return SameOrigin(origin, target) && !hasCapability(target)
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

// Redact renders u for logs with the capability's value (as good as a token for that job)
// and any password hidden.
func Redact(u *url.URL) string {
	r := *u
	if q := u.Query(); q.Get("cap") != "" {
		q.Set("cap", "REDACTED")
		r.RawQuery = q.Encode()
	}
	return r.Redacted()
}

// encodeInvocation puts the arguments, and $callMode when a mode is given, where the method
// wants them: a JSON object body for POST, PUT and DELETE, the query string for GET.
func encodeInvocation(method string, target *url.URL, args map[string]any, mode Mode) (*url.URL, []byte, error) {
	if method != http.MethodGet {
		body := make(map[string]any, len(args)+1)
		for k, v := range args {
			body[k] = v
		}
		if mode != "" {
			body["$callMode"] = string(mode)
		}
		data, err := json.Marshal(body)
		if err != nil {
			return nil, nil, fmt.Errorf("encoding the arguments: %w", err)
		}
		return target, data, nil
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
		q.Set("$callMode", string(mode))
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
