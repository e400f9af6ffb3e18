// Package callmode answers invocations in the three call modes (docs/api.md §2–§9) and serves the
// status, output and hop resources that follow them.
package callmode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/auth"
	"github.com/jobgate/jobgate/internal/problem"
	"github.com/jobgate/jobgate/jobs"
)

// Config configures Modes.
type Config struct {
	// Store holds the jobs. Required.
	Store jobs.Store
	// Waiter holds LongPolling requests. Required.
	Waiter *Waiter
	// Verifier checks bearer tokens on the status, output and hop routes. Required.
	Verifier *auth.Verifier
	// Capabilities signs and checks capability URLs. Required.
	Capabilities *auth.Capabilities
	// Settings returns a tenant's settings. Optional. Default DefaultSettings for all.
	Settings func(jobs.Tenant) Settings
	// PublicURL is the absolute base of Location URLs (behind a proxy). Optional. Default:
	// the scheme and host of the request.
	PublicURL string
	// Hop is the longest a LongPolling request is held before a 303 hop. Optional. Default 50s.
	Hop time.Duration
	// HopMax caps the hop a caller asks for with Prefer: wait=N, which applies to every hop of
	// its call (clients with a small redirect cap wait for long jobs in few hops). Optional.
	// Default 10m.
	HopMax time.Duration
	// CapabilityTTL is how long a capability URL works, counted from the job's creation.
	// Optional. Default 24h.
	CapabilityTTL time.Duration
	// ParkAfter is how long a held LongPolling request keeps its goroutine before its
	// connection is parked in the Waiter (see park.go): a short wait keeps the connection
	// alive for the client's next request, a long one costs a fraction of the memory.
	// Optional. Default 0: park as soon as the job is found not final. Negative: never park.
	ParkAfter time.Duration
	// Answered is called with the call mode and status of each invocation answered after
	// its request was parked (the server's own middleware counts the others). Optional.
	Answered func(mode string, status int)
	// Reuse hands a parked request's connection back to the HTTP server once its answer is
	// written, for the client's next request (keep-alive); it reports false when it cannot
	// (the server is shutting down). Optional. Default: parked connections are closed after
	// their answer (with "Connection: close").
	Reuse func(net.Conn) bool
	// MaxHeld returns a tenant's maxHeldCalls quota: the most LongPolling calls (first
	// calls and hops) this server holds for it at once; more are refused with 429.
	// Optional. Default: no limit.
	MaxHeld func(jobs.Tenant) int64
	// WriteTimeout is how long a held call's answer may take to be written once its hop
	// ends: hold moves the request's write deadline to the end of the hop plus this.
	// Optional. Default 20s.
	WriteTimeout time.Duration
	// Logger logs. Optional. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
}

// Modes answers invocations and serves the resources that follow them.
type Modes struct {
	cfg Config
	// held counts the held calls of each tenant (heldquota.go).
	held heldCalls
	// outputs shares encoded large outputs between the requests that read them.
	outputs *outputCache
}

// New returns Modes.
func New(cfg Config) *Modes {
	if cfg.Settings == nil {
		cfg.Settings = func(jobs.Tenant) Settings { return DefaultSettings() }
	}
	if cfg.Hop <= 0 {
		cfg.Hop = 50 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 20 * time.Second
	}
	if cfg.HopMax <= 0 {
		cfg.HopMax = 10 * time.Minute
	}
	if cfg.CapabilityTTL <= 0 {
		cfg.CapabilityTTL = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Modes{cfg: cfg, outputs: newOutputCache(64<<20, time.Minute)}
}

// Hop returns the configured hop time.
func (m *Modes) Hop() time.Duration { return m.cfg.Hop }

// HopMax returns the longest hop a Prefer: wait may ask for.
func (m *Modes) HopMax() time.Duration { return m.cfg.HopMax }

// Answer answers an invocation that created (or, for a repeated Idempotency-Key, found) job.
// firstHop is how long a LongPolling answer waits before its first hop; one other than the
// configured hop (a Prefer: wait) applies to every later hop too, carried in the hop URLs.
func (m *Modes) Answer(c echo.Context, job jobs.Job, mode jobs.CallMode, firstHop time.Duration) error {
	switch mode {
	case jobs.FireAndForget:
		return c.NoContent(http.StatusOK)
	case jobs.LongPolling:
		return m.hold(c, job.TenantRef(), job.Key, firstHop, 1, job)
	default:
		h := c.Response().Header()
		h.Set(echo.HeaderLocation, m.url(c, job, "status"))
		h.Set("Retry-After", strconv.Itoa(m.retryAfter(job)))
		return c.JSON(http.StatusAccepted, map[string]any{"Key": job.Key, "Id": job.ID, "State": job.State})
	}
}

// Status serves GET …/jobs/:key/status: 200 with the job summary while it runs, then a
// redirect to the output resource.
func (m *Modes) Status(c echo.Context) error {
	t, key, err := m.authorize(c)
	if err != nil {
		return err
	}
	job, err := m.cfg.Store.Get(c.Request().Context(), t, key)
	if err != nil {
		return err
	}
	if job.State.Final() {
		return m.redirect(c, t, m.url(c, job, "output"))
	}
	c.Response().Header().Set("Retry-After", strconv.Itoa(m.retryAfter(job)))
	return c.JSON(http.StatusOK, Summary(job))
}

// Output serves GET …/jobs/:key/output.
func (m *Modes) Output(c echo.Context) error {
	t, key, err := m.authorize(c)
	if err != nil {
		return err
	}
	if body, ok := m.outputs.lookup(t, key); ok {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
	}
	job, err := m.outputs.read(c.Request().Context(), m.cfg.Store, t, key)
	if err != nil {
		return err
	}
	return m.output(c, job)
}

// Wait serves GET …/jobs/:key/wait/:hop, the blocking status URL of LongPolling.
func (m *Modes) Wait(c echo.Context) error {
	t, key, err := m.authorize(c)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Param("hop"))
	if err != nil || n < 1 || n > 1_000_000 {
		return jobs.Errorf(jobs.ENOTFOUND, "no such hop %q", c.Param("hop"))
	}
	return m.hold(c, t, key, m.hopWait(c.QueryParam("wait")), n, jobs.Job{})
}

// hopWait is how long a hop request is held: the wait=N seconds its URL carries (the call's
// Prefer: wait), at most HopMax, else the configured hop. A wait that is not a positive whole
// number is ignored, as a malformed preference is.
func (m *Modes) hopWait(param string) time.Duration {
	n, err := strconv.ParseInt(param, 10, 64)
	if err != nil || n < 1 {
		return m.cfg.Hop
	}
	return min(time.Duration(min(n, 1<<31))*time.Second, m.cfg.HopMax)
}

// hopURL is the URL of hop n of job's call, carrying the call's wait when it is not the
// configured hop. A wait of 0 (Prefer: wait=0, answer at once) is not carried: later hops
// are held for the configured hop rather than bouncing at once.
func (m *Modes) hopURL(c echo.Context, job jobs.Job, n int, wait time.Duration) string {
	u := m.url(c, job, "wait/"+strconv.Itoa(n))
	if wait <= 0 || wait == m.cfg.Hop {
		return u
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "wait=" + strconv.FormatInt(int64(wait/time.Second), 10)
}

// hold waits for the job, then answers with its output, or with a redirect to hop n+1.
// After ParkAfter it parks the request instead of keeping its goroutine. known is the job
// as the caller has it (the one an invocation just created), or zero.
func (m *Modes) hold(c echo.Context, t jobs.Tenant, key string, wait time.Duration, n int, known jobs.Job) error {
	if max := m.maxHeld(t); !m.held.acquire(t, max) {
		return heldQuotaError(t, max)
	}
	parked := false // a parked call is counted until its answer (parkedCall.answer)
	defer func() {
		if !parked {
			m.held.release(t)
		}
	}()
	deadline := time.Now().Add(wait) // the Waiter's timers run on the real clock
	// The server's write deadline is for answers given at once: a held one is written
	// after its hop at the latest.
	_ = http.NewResponseController(c.Response().Writer).SetWriteDeadline(deadline.Add(m.cfg.WriteTimeout))
	first := wait
	if m.cfg.ParkAfter >= 0 {
		first = min(wait, m.cfg.ParkAfter)
	}
	job, err := m.cfg.Waiter.WaitFinal(c.Request().Context(), t, key, first)
	if first < wait && !m.cfg.Waiter.Draining() {
		waiting := err == nil && !job.State.Final()
		if waiting && m.park(c, t, job, deadline, n, wait) {
			parked = true
			return nil
		}
		// Not parked (HTTP/2), or the store did not answer yet: hold on with the goroutine.
		if rest := time.Until(deadline); rest > 0 && (waiting || jobs.ErrorCode(err) == jobs.EUNAVAILABLE) {
			job, err = m.cfg.Waiter.WaitFinal(c.Request().Context(), t, key, rest)
		}
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil // the client left; the job goes on
		}
		if jobs.ErrorCode(err) == jobs.EUNAVAILABLE {
			// The store was down for the whole hop: the job may well still be running, so
			// answer the hop as usual and let the client's next hop find the store back.
			if job.Key == "" {
				job = known
			}
			return m.redirect(c, t, m.nextHopURL(c, job, n))
		}
		return err
	}
	if job.State.Final() {
		return m.output(c, job)
	}
	return m.redirect(c, t, m.hopURL(c, job, n+1, wait))
}

// nextHopURL is the URL of hop n+1 when the store could not be read: built from the job last
// read when there is one, else from the request's own hop URL (its capability, if any, still
// holds: it was signed for the job, not for a hop).
func (m *Modes) nextHopURL(c echo.Context, job jobs.Job, n int) string {
	if job.Key != "" {
		return m.url(c, job, "wait/"+strconv.Itoa(n+1))
	}
	base := m.cfg.PublicURL
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	u := *c.Request().URL
	u.Path = strings.TrimSuffix(u.Path, "/"+strconv.Itoa(n)) + "/" + strconv.Itoa(n+1)
	u.RawPath = ""
	return base + u.RequestURI()
}

func (m *Modes) output(c echo.Context, job jobs.Job) error {
	switch job.State {
	case jobs.Successful:
		body, err := m.outputs.encode(job) // large outputs: one copy shared by every reader
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
	case jobs.Faulted, jobs.Stopped:
		p := problem.New("job-"+strings.ToLower(string(job.State)), http.StatusInternalServerError,
			fmt.Sprintf("Job %d ended %s: %s", job.ID, job.State, job.Info))
		p.Title = "Job " + string(job.State)
		info := job.Info
		p.JobState, p.Info, p.JobKey = job.State, &info, job.Key
		return problem.Write(c, p)
	default:
		return jobs.Errorf(jobs.ECONFLICT, "job %d is %s, not final yet: its output is not available", job.ID, job.State)
	}
}

func (m *Modes) redirect(c echo.Context, t jobs.Tenant, location string) error {
	c.Response().Header().Set(echo.HeaderLocation, location)
	return c.NoContent(m.cfg.Settings(t).RedirectStatus)
}

// retryAfter suggests a polling interval that grows with the job's age: 1s for a young job,
// up to 30s for one that has run for minutes.
func (m *Modes) retryAfter(job jobs.Job) int {
	age := m.cfg.Now().Sub(job.CreationTime)
	return int(min(max(age/(10*time.Second), 1), 30))
}

// url builds the absolute URL of one of job's resources, with a capability when the tenant
// does not require auth on redirects. Its expiry is fixed by the job's creation time, so
// repeated answers for the same job carry the same URL.
func (m *Modes) url(c echo.Context, job jobs.Job, resource string) string {
	base := m.cfg.PublicURL
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	u := base + "/" + url.PathEscape(job.Org) + "/" + url.PathEscape(job.Tenant) + "/orchestrator_/jobs/" + job.Key + "/" + resource
	if !m.cfg.Settings(job.TenantRef()).RequireAuthOnRedirects {
		u += "?cap=" + m.cfg.Capabilities.SignUntil(job.Org, job.Tenant, job.Key, job.CreationTime.Add(m.cfg.CapabilityTTL))
	}
	return u
}

// authorize admits a request to a job resource: a bearer token for the tenant with OR.Jobs
// or OR.Jobs.Read, or, when the tenant allows it, a capability for this one job.
func (m *Modes) authorize(c echo.Context) (jobs.Tenant, string, error) {
	t := jobs.Tenant{Org: c.Param("org"), Tenant: c.Param("tenant")}
	key := c.Param("key")
	header := c.Request().Header.Get(echo.HeaderAuthorization)
	capability := c.QueryParam("cap")
	if header == "" && capability != "" {
		if m.cfg.Settings(t).RequireAuthOnRedirects {
			return t, key, &auth.Error{Status: http.StatusUnauthorized,
				Description: "this tenant requires a bearer token on status, output and hop URLs"}
		}
		return t, key, m.cfg.Capabilities.Verify(capability, t.Org, t.Tenant, key)
	}
	p, err := m.cfg.Verifier.FromHeader(header)
	if err != nil {
		return t, key, err
	}
	if err := auth.CheckTenant(p, t.Org, t.Tenant); err != nil {
		return t, key, err
	}
	if err := p.Require(auth.ScopeJobs, auth.ScopeJobsRead); err != nil {
		return t, key, err
	}
	return t, key, nil
}

// JobSummary is what the status resource shows of a running job.
type JobSummary struct {
	Key          string         `json:"Key"`
	ID           int64          `json:"Id"`
	State        jobs.State     `json:"State"`
	CreationTime time.Time      `json:"CreationTime"`
	StartTime    *time.Time     `json:"StartTime"`
	Progress     *jobs.Progress `json:"Progress,omitempty"`
}

// Summary returns the status resource's view of job.
func Summary(job jobs.Job) JobSummary {
	return JobSummary{Key: job.Key, ID: job.ID, State: job.State, CreationTime: job.CreationTime,
		StartTime: job.StartTime, Progress: job.Progress}
}
