package trigger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/internal/jsonbody"
	"github.com/jobgate/jobgate/jobs"
)

// Config configures the invocation handler.
type Config struct {
	// Catalog holds tenants, processes and triggers. Required.
	Catalog *Catalog
	// Store holds jobs. Required.
	Store jobs.Store
	// Modes answers in the chosen call mode. Required.
	Modes *callmode.Modes
	// MaxBody is the largest accepted request body. Optional. Default 1 MiB.
	MaxBody int64
	// LongPollMax is the longest a LongPolling job may run, counted from creation.
	// Optional. Default 15m.
	LongPollMax time.Duration
}

// Handler serves trigger invocations.
type Handler struct {
	cfg Config
}

// ContextKeyCallMode is the echo.Context key under which Invoke records the chosen mode
// (for metrics).
const ContextKeyCallMode = callmode.ContextKeyCallMode

// NewHandler returns the invocation handler.
func NewHandler(cfg Config) *Handler {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.LongPollMax <= 0 {
		cfg.LongPollMax = 15 * time.Minute
	}
	return &Handler{cfg: cfg}
}

// Invoke serves {GET,POST,PUT,DELETE} /:org/:tenant/orchestrator_/t/:slug. The caller's
// token has been checked for the tenant and the OR.Jobs scope.
func (h *Handler) Invoke(c echo.Context) error {
	req := c.Request()
	t := jobs.Tenant{Org: c.Param("org"), Tenant: c.Param("tenant")}
	tr, proc, err := h.cfg.Catalog.Trigger(req.Context(), t, c.Param("slug"))
	if err != nil {
		return err
	}
	if req.Method != tr.Method {
		return &jobs.Error{Code: jobs.EMETHOD, Allow: []string{tr.Method},
			Message: fmt.Sprintf("trigger %q is invoked with %s, not %s", tr.Slug, tr.Method, req.Method)}
	}
	if !tr.Enabled {
		return jobs.Errorf(jobs.ECONFLICT, "trigger %q is disabled", tr.Slug)
	}
	call, err := h.readCall(c)
	if err != nil {
		return err
	}
	choice, err := SelectMode(call.mode, call.hasMode, req.Header.Values("Prefer"), tr.CallMode, h.cfg.Modes.Hop(), h.cfg.Modes.HopMax())
	if err != nil {
		return err
	}
	c.Set(ContextKeyCallMode, string(choice.Mode))
	args, err := jobs.BindArguments(proc.Arguments, tr.Arguments, call.args, call.fromQuery)
	if err != nil {
		return err
	}
	idemKey, err := idempotencyKey(req.Header.Values("Idempotency-Key"))
	if err != nil {
		return err
	}
	var fp string
	if idemKey != "" { // only a repeated key compares fingerprints: no hashing otherwise
		if fp, err = fingerprint(req.Method, call.raw); err != nil {
			return err
		}
	}
	create := jobs.CreateRequest{
		Job: jobs.Job{
			Org: t.Org, Tenant: t.Tenant,
			InputArguments: args,
			ReleaseName:    proc.Name,
			ProcessName:    proc.Name,
			Release:        jobs.Release{ID: proc.ID, Key: proc.Key, ProcessKey: proc.ProcessKey},
			Source:         tr.Slug,
			SourceType:     jobs.SourceTypeAPITrigger,
			CallMode:       choice.Mode,
			TriggerSlug:    tr.Slug,
		},
		IdempotencyKey: idemKey,
		Scope:          strings.ToLower(tr.Slug),
		Fingerprint:    fp,
	}
	quotas := h.cfg.Catalog.Quotas(t)
	create.MaxPending = quotas.MaxPendingJobs
	if choice.Mode == jobs.LongPolling {
		if err := h.cfg.Modes.CheckHeld(t); err != nil {
			return err
		}
		create.MaxRunTime = h.cfg.LongPollMax
		create.Job.DeadlineInfo = fmt.Sprintf("Job exceeded the LongPolling limit of %s (--long-poll-max) and was killed", h.cfg.LongPollMax)
	}
	job, _, err := h.cfg.Store.Create(req.Context(), create)
	if err != nil {
		return err
	}
	if choice.Applied != "" {
		c.Response().Header().Set("Preference-Applied", choice.Applied)
	}
	return h.cfg.Modes.Answer(c, job, choice.Mode, choice.FirstHop)
}

type call struct {
	args      map[string]any
	fromQuery bool
	mode      string
	hasMode   bool
	raw       map[string]any // args plus $-keys, as sent: what the fingerprint covers
}

// readCall reads the call's arguments and $callMode: from the query string for GET, from the
// JSON object body otherwise. $-prefixed keys are not arguments.
func (h *Handler) readCall(c echo.Context) (call, error) {
	req := c.Request()
	var out call
	raw := map[string]any{}
	if req.Method == http.MethodGet {
		out.fromQuery = true
		q := req.URL.Query()
		for k, vs := range q {
			if len(vs) > 1 {
				return out, &jobs.Error{Code: jobs.EINVALID, Message: fmt.Sprintf("query parameter %q is given %d times", k, len(vs)),
					Fields: []jobs.FieldError{{Name: k, Detail: "given more than once"}}}
			}
			raw[k] = vs[0]
		}
	} else {
		body, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, h.cfg.MaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return out, jobs.Errorf(jobs.ETOOLARGE, "the request body is larger than %d bytes", h.cfg.MaxBody)
			}
			return out, jobs.Errorf(jobs.EINVALID, "could not read the request body: %v", err)
		}
		if len(bytes.TrimSpace(body)) > 0 {
			if raw, err = decodeObject(body); err != nil {
				return out, err
			}
		}
	}
	out.args = map[string]any{}
	for k, v := range raw {
		if !strings.HasPrefix(k, "$") {
			out.args[k] = v
			continue
		}
		if k == "$callMode" {
			s, ok := v.(string)
			if !ok {
				return out, &jobs.Error{Code: jobs.EINVALID, Message: "$callMode must be a string",
					Fields: []jobs.FieldError{{Name: "$callMode", Detail: "must be a string naming a call mode"}}}
			}
			out.mode, out.hasMode = s, true
		}
	}
	out.raw = raw
	return out, nil
}

// decodeObject decodes a JSON object, keeping numbers exact (json.Number).
func decodeObject(body []byte) (map[string]any, error) {
	if err := jsonbody.Check(body, "the request body"); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jobs.Errorf(jobs.EINVALID, "the request body is not valid JSON: %s", jsonbody.Describe(err))
	}
	if dec.More() {
		return nil, jobs.Errorf(jobs.EINVALID, "the request body has data after its JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, jobs.Errorf(jobs.EINVALID, "the request body has data after its JSON object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, jobs.Errorf(jobs.EINVALID, "the request body must be a JSON object of arguments, got %s", jobs.JSONKind(v))
	}
	return m, nil
}

// fingerprint identifies a call for Idempotency-Key: its method and its arguments (and
// $callMode) in canonical JSON, so that key order and spacing do not matter.
func fingerprint(method string, raw map[string]any) (string, error) {
	b, err := json.Marshal(raw) // encoding/json sorts map keys: canonical
	if err != nil {
		return "", jobs.Errorf(jobs.EINVALID, "arguments cannot be encoded: %v", err)
	}
	sum := sha256.Sum256(append([]byte(method+"\n"), b...))
	return hex.EncodeToString(sum[:]), nil
}

// idempotencyKey validates the Idempotency-Key header: at most one, 1 to 255 visible ASCII
// characters.
func idempotencyKey(values []string) (string, error) {
	if len(values) == 0 {
		return "", nil
	}
	bad := func(detail string) error {
		return &jobs.Error{Code: jobs.EINVALID, Message: "Idempotency-Key " + detail,
			Fields: []jobs.FieldError{{Name: "Idempotency-Key", Detail: detail}}}
	}
	if len(values) > 1 {
		return "", bad("is given more than once")
	}
	k := strings.TrimSpace(values[0])
	if k == "" || len(k) > 255 {
		return "", bad("must be 1 to 255 characters")
	}
	for _, r := range k {
		if r < 0x21 || r > 0x7e {
			return "", bad("must be visible ASCII characters")
		}
	}
	return k, nil
}
