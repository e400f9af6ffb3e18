package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/auth"
	"github.com/jobgate/jobgate/internal/problem"
	"github.com/jobgate/jobgate/jobs"
)

// statusOf maps domain error codes to HTTP statuses. This is the only place that does.
var statusOf = map[string]int{
	jobs.EINVALID:       http.StatusBadRequest,
	jobs.ENOTFOUND:      http.StatusNotFound,
	jobs.ECONFLICT:      http.StatusConflict,
	jobs.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	jobs.EUNAVAILABLE:   http.StatusServiceUnavailable,
	jobs.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	jobs.EMETHOD:        http.StatusMethodNotAllowed,
	jobs.EINTERNAL:      http.StatusInternalServerError,
	jobs.EQUOTA:         http.StatusTooManyRequests,
}

// toProblem turns any error a handler returned into the problem document to send, and sets
// the headers that go with it.
func (s *Server) toProblem(c echo.Context, err error) problem.Problem {
	h := c.Response().Header()
	var authErr *auth.Error
	var domErr *jobs.Error
	var httpErr *echo.HTTPError
	switch {
	case errors.As(err, &authErr):
		if ch := authErr.Challenge(); ch != "" {
			h.Set(echo.HeaderWWWAuthenticate, ch)
		}
		slug := "unauthorized"
		if authErr.Status == http.StatusForbidden {
			slug = "forbidden"
			if authErr.Code == "insufficient_scope" {
				slug = "insufficient-scope"
			}
		}
		return problem.New(slug, authErr.Status, authErr.Description)
	case errors.As(err, &domErr):
		status := statusOf[domErr.Code]
		if status == 0 {
			status = http.StatusInternalServerError
		}
		if status >= 500 && domErr.Code != jobs.EUNAVAILABLE {
			s.cfg.Logger.Error("request failed", "err", err, "path", c.Path())
			return problem.New("internal", status, "An internal error occurred; the request id identifies it in the server log.")
		}
		if domErr.Code == jobs.EUNAVAILABLE {
			h.Set("Retry-After", "5")
		}
		if q := domErr.Quota; q != nil {
			if domErr.Code == jobs.EQUOTA { // a 413 (a request that never fits) has no Retry-After
				h.Set("Retry-After", strconv.Itoa(max(1, int(q.RetryAfter.Round(time.Second)/time.Second))))
			}
			p := problem.Quota(q.Name, q.Limit, status, domErr.Message)
			p.Errors = domErr.Fields
			return p
		}
		if len(domErr.Allow) > 0 {
			h.Set(echo.HeaderAllow, strings.Join(domErr.Allow, ", "))
		}
		p := problem.New(strings.ReplaceAll(domErr.Code, "_", "-"), status, domErr.Message)
		p.Errors = domErr.Fields
		return p
	case errors.As(err, &httpErr):
		detail := http.StatusText(httpErr.Code)
		switch httpErr.Code {
		case http.StatusNotFound:
			detail = "no route matches " + c.Request().Method + " " + c.Request().URL.Path
		case http.StatusMethodNotAllowed:
			detail = "this route does not accept " + c.Request().Method
		case http.StatusRequestEntityTooLarge:
			detail = "the request body is too large"
		default:
			if m, ok := httpErr.Message.(string); ok && httpErr.Code < 500 {
				detail = m
			}
		}
		if httpErr.Code >= 500 {
			s.cfg.Logger.Error("request failed", "err", err, "path", c.Path())
		}
		return problem.New(strings.ToLower(strings.ReplaceAll(http.StatusText(httpErr.Code), " ", "-")), httpErr.Code, detail)
	default:
		s.cfg.Logger.Error("request failed", "err", err, "path", c.Path())
		return problem.New("internal", http.StatusInternalServerError, "An internal error occurred; the request id identifies it in the server log.")
	}
}

// handleError is Echo's error handler: every error becomes problem+json.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := s.toProblem(c, err)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	if werr := problem.Write(c, p); werr != nil {
		s.cfg.Logger.Warn("could not write error response", "err", werr)
	}
}
