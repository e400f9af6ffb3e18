// Package server is jobgate's HTTP front: the Echo instance, the whole URL space in
// routes.go, the common middleware and the one error handler that turns errors into
// problem+json.
package server

import (
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/jobgate/jobgate/auth"
	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/trigger"
)

// Config configures a Server.
type Config struct {
	// Store holds jobs. Required.
	Store jobs.Store
	// Catalog holds tenants, processes and triggers. Required.
	Catalog *trigger.Catalog
	// Verifier checks bearer tokens. Required.
	Verifier *auth.Verifier
	// Capabilities signs capability URLs. Required.
	Capabilities *auth.Capabilities
	// Waiter holds LongPolling requests. Required.
	Waiter *callmode.Waiter
	// Metrics collects Prometheus metrics. Required.
	Metrics *Metrics
	// PublicURL is the absolute base for Location URLs. Optional. Default from the request.
	PublicURL string
	// Hop is the longest a LongPolling request is held. Optional. Default 50s.
	Hop time.Duration
	// HopMax is the longest hop a Prefer: wait may ask for. Optional. Default 10m.
	HopMax time.Duration
	// ParkAfter is how long a held request keeps its goroutine before its connection is
	// parked in the Waiter. Optional. Default 0: at once. Negative: never.
	ParkAfter time.Duration
	// LongPollMax is the longest a LongPolling job may run. Optional. Default 15m.
	LongPollMax time.Duration
	// CORSOrigins are the allowed browser origins ("*" allowed). Optional. Default none.
	CORSOrigins []string
	// MaxBody is the largest accepted request body. Optional. Default 1 MiB.
	MaxBody int64
	// WriteTimeout is how long any answer but a held LongPolling call's may take to be
	// written (writedeadline.go). Optional. Default 20s.
	WriteTimeout time.Duration
	// MaxConns bounds the connections open at once (connlimit.go). Optional. Default 0:
	// no limit (serve's --max-conns sets one).
	MaxConns int
	// MaxConnsPerAddress bounds the connections open at once from one client address.
	// Optional. Default 0: no limit (serve's --max-conns-per-address sets one).
	MaxConnsPerAddress int
	// Logger logs requests and errors. Optional. Default slog.Default().
	Logger *slog.Logger
}

// Server is jobgate's HTTP handler.
type Server struct {
	cfg     Config
	echo    *echo.Echo
	modes   *callmode.Modes
	invoker *trigger.Handler
	// odataRoutes is the management API's table (routes.go).
	odataRoutes []odataRoute
	// ln is the listener of Listener, through which parked connections come back.
	ln atomic.Pointer[listener]
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
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
	s := &Server{cfg: cfg, echo: echo.New()}
	s.modes = callmode.New(callmode.Config{
		Store: cfg.Store, Waiter: cfg.Waiter, Verifier: cfg.Verifier, Capabilities: cfg.Capabilities,
		Settings: cfg.Catalog.Settings, PublicURL: cfg.PublicURL, Hop: cfg.Hop, HopMax: cfg.HopMax,
		ParkAfter: cfg.ParkAfter, Answered: cfg.Metrics.Invoked, Logger: cfg.Logger, Reuse: s.reuse,
		MaxHeld: func(t jobs.Tenant) int64 { return cfg.Catalog.Quotas(t).MaxHeldCalls }, WriteTimeout: cfg.WriteTimeout,
	})
	s.invoker = trigger.NewHandler(trigger.Config{
		Catalog: cfg.Catalog, Store: cfg.Store, Modes: s.modes, MaxBody: cfg.MaxBody, LongPollMax: cfg.LongPollMax,
	})
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(requestID)
	e.Use(s.writeDeadline)
	e.Use(s.logRequests)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		cfg.Logger.Error("panic while serving a request", "err", err, "path", c.Path(), "stack", string(stack))
		return err
	}}))
	if len(cfg.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  cfg.CORSOrigins,
			AllowMethods:  []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions},
			AllowHeaders:  []string{echo.HeaderAuthorization, echo.HeaderContentType, "Prefer", "Idempotency-Key", echo.HeaderXRequestID},
			ExposeHeaders: []string{echo.HeaderLocation, "Retry-After", "Preference-Applied", echo.HeaderXRequestID},
			MaxAge:        600,
		}))
	}
	s.routes()
	return s
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Listener wraps ln for the http.Server of HTTPServer: serve on what it returns, so that a
// parked LongPolling connection goes back to the server after its answer (keep-alive).
// Without it, parked connections are closed after their answer.
// It also bounds the connections open at once (Config.MaxConns, MaxConnsPerAddress).
func (s *Server) Listener(ln net.Listener) net.Listener {
	l := newListener(newConnLimit(ln, s.cfg.MaxConns, s.cfg.MaxConnsPerAddress))
	s.ln.Store(l)
	return l
}

// reuse hands a parked connection back to the HTTP server; false when it cannot.
func (s *Server) reuse(c net.Conn) bool {
	if l := s.ln.Load(); l != nil {
		return l.giveBack(c)
	}
	return false
}

// HTTPServer returns an http.Server for the handler with timeouts fit for held requests: a
// short ReadHeaderTimeout against slow clients, and a WriteTimeout longer than the longest hop.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:    addr,
		Handler: s.echo,
		ConnState: func(c net.Conn, state http.ConnState) {
			if l := s.ln.Load(); l != nil {
				l.connState(c, state)
			}
		},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      max(s.cfg.Hop, s.cfg.HopMax) + 30*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// logRequests logs one line per request: method, path (never the query, which may carry a
// capability), status and duration. Tokens are never logged.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		if !s.cfg.Logger.Enabled(c.Request().Context(), slog.LevelDebug) {
			return nil // the line below costs allocations on every request
		}
		path := c.Request().URL.Path
		if len(path) > 200 {
			path = path[:200] + "…"
		}
		status := strconv.Itoa(c.Response().Status)
		if parked, _ := c.Get(callmode.ContextKeyParked).(bool); parked {
			status = "parked" // its answer comes later, from the Waiter
		}
		s.cfg.Logger.Debug("request", "method", c.Request().Method, "path", strings.ToValidUTF8(path, "?"),
			"status", status, "took", time.Since(start),
			"requestId", c.Response().Header().Get(echo.HeaderXRequestID))
		return nil
	}
}

// countInvocations records each trigger invocation by call mode and status.
func (s *Server) countInvocations(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		if parked, _ := c.Get(callmode.ContextKeyParked).(bool); parked {
			return nil // counted when the Waiter answers it (Modes' Answered)
		}
		mode, _ := c.Get(trigger.ContextKeyCallMode).(string)
		s.cfg.Metrics.Invoked(mode, c.Response().Status)
		return nil
	}
}
