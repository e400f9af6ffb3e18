package server

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jobgate/jobgate/auth"
	"github.com/jobgate/jobgate/trigger"
)

// routes declares the whole URL space.
func (s *Server) routes() {
	e := s.echo
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.cfg.Metrics.Registry, promhttp.HandlerOpts{})))
	e.GET("/openapi.json", s.openAPI)

	tenant := e.Group("/:org/:tenant/orchestrator_", s.checkTenantNames)
	bearer := auth.BearerWithConfig(auth.BearerConfig{Verifier: s.cfg.Verifier})

	// Trigger invocation (docs/api.md §2–§9).
	// Any method reaches the handler, which answers 405 with the trigger's own Allow.
	tenant.Any("/t/:slug", s.invoker.Invoke, s.countInvocations, bearer, auth.RequireScope(auth.ScopeJobs))

	// Status, output and LongPolling hop resources. They authorize themselves: a bearer token,
	// or a capability when the tenant allows it.
	tenant.GET("/jobs/:key/status", s.modes.Status)
	tenant.GET("/jobs/:key/output", s.modes.Output)
	// Hop URLs also take the trigger methods: on a 302 (RedirectStatus 302) clients re-send
	// PUT and DELETE unchanged, and the hop must still answer them.
	tenant.Match(trigger.Methods, "/jobs/:key/wait/:hop", s.modes.Wait)

	// Management API (docs/api.md §19): one route, dispatched by the table below. Each line is
	// method, path under …/odata/, the scopes of which the token needs one, handler.
	tenant.Any("/odata/*", s.odata, bearer)
	var (
		jobsRead  = []string{auth.ScopeJobs, auth.ScopeJobsRead}
		jobsWrite = []string{auth.ScopeJobs}
		execution = []string{auth.ScopeExecution}
		settings  = []string{auth.ScopeSettings}
	)
	s.odataRoutes = []odataRoute{
		{"GET", "Jobs", jobsRead, s.listJobs},
		{"GET", "Jobs(Id)", jobsRead, s.getJob},
		{"GET", "Jobs(Id)/Logs", jobsRead, s.jobLogs},
		{"POST", "Jobs/" + actionStartJobs, jobsWrite, s.startJobs},
		{"POST", "Jobs(Id)/" + actionStopJob, jobsWrite, s.stopJob},
		{"POST", "Jobs/" + actionStopAll, jobsWrite, s.stopJobs},

		{"GET", "Releases", execution, s.listReleases},
		{"POST", "Releases", execution, s.createRelease},
		{"GET", "Releases(Id)", execution, s.getRelease},
		{"PUT", "Releases(Id)", execution, s.replaceRelease},
		{"PATCH", "Releases(Id)", execution, s.patchRelease},
		{"DELETE", "Releases(Id)", execution, s.deleteRelease},

		{"GET", "ApiTriggers", execution, s.listTriggers},
		{"POST", "ApiTriggers", execution, s.createTrigger},
		{"GET", "ApiTriggers(Id)", execution, s.getTrigger},
		{"PUT", "ApiTriggers(Id)", execution, s.replaceTrigger},
		{"PATCH", "ApiTriggers(Id)", execution, s.patchTrigger},
		{"DELETE", "ApiTriggers(Id)", execution, s.deleteTrigger},

		{"GET", "Settings", settings, s.getSettings},
		{"PUT", "Settings", settings, s.putSettings},
		{"PATCH", "Settings", settings, s.patchSettings},
	}
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "detail": "the job store does not answer"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// checkTenantNames refuses org and tenant names outside [A-Za-z0-9_-]{1,64}.
func (s *Server) checkTenantNames(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !trigger.ValidName(c.Param("org")) || !trigger.ValidName(c.Param("tenant")) {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		return next(c)
	}
}
