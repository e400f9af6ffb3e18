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
	"strings"
	"time"

	"github.com/jobgate/jobgate/client"
	"github.com/jobgate/jobgate/jobs"
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

// runInvoke implements `jobgate invoke` with the client package; it returns the process exit
// code: 0 when the job succeeded (or was accepted FireAndForget), 1 when it did not or the call
// failed, 2 for a usage error.
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
	tenant := client.Tenant{Org: o.org, Name: o.tenant}
	origin, err := client.TriggerURL(o.base, tenant, o.slug)
	if err != nil {
		fmt.Fprintln(stderr, "jobgate invoke: --url:", err)
		return 2
	}
	arguments, err := buildArguments(o.data, o.args)
	if err != nil {
		fmt.Fprintln(stderr, "jobgate invoke:", err)
		return 2
	}

	ctx, cancel := context.WithTimeoutCause(ctx, o.timeout, errInvokeTimeout)
	defer cancel()
	log := &progress{w: stderr}
	c := client.New(o.base, client.WithToken(o.token), client.WithUserAgent("jobgate-invoke"), client.WithProgress(log.event))
	out, err := c.Invoke(ctx, tenant, o.slug, arguments, client.Mode(o.mode),
		client.WithMethod(o.method), client.WithIdempotencyKey(o.idempotencyKey))
	switch {
	case err != nil:
		log.failure(ctx, err, o, origin)
		return 1
	case out == nil:
		log.line("job accepted (FireAndForget); not waiting for its result")
		return 0
	}
	return printOutput(out, stdout, log)
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

// printOutput prints the job's output JSON, indented, on stdout.
func printOutput(out []byte, stdout io.Writer, log *progress) int {
	var buf bytes.Buffer
	if err := json.Indent(&buf, out, "", "  "); err != nil {
		log.line("error: the job's output is not JSON: %v", err)
		return 1
	}
	buf.WriteByte('\n')
	if _, err := stdout.Write(buf.Bytes()); err != nil {
		log.line("error: writing the output: %v", err)
		return 1
	}
	return 0
}
