// Package problem writes RFC 9457 application/problem+json answers.
package problem

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/jobs"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// TypeBase prefixes every problem type URI.
const TypeBase = "https://jobgate.dev/problems/"

// Problem is an RFC 9457 problem document plus jobgate's extension members.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	RequestID string            `json:"requestId,omitempty"`
	Errors    []jobs.FieldError `json:"errors,omitempty"`
	// Job output problems (docs/api.md §2–§9, output resource of a Faulted or Stopped job).
	JobState jobs.State `json:"jobState,omitempty"`
	Info     *string    `json:"info,omitempty"`
	JobKey   string     `json:"jobKey,omitempty"`
	// Quota refusals (429): the quota reached and its value.
	Quota string `json:"quota,omitempty"`
	Limit *int64 `json:"limit,omitempty"`
}

// Quota returns the problem of a refusal by quota name at limit: 429 for a quota reached
// for now, 413 for a request too large for the quota.
func Quota(name string, limit int64, status int, detail string) Problem {
	p := New("quota-exceeded", status, detail)
	p.Quota, p.Limit = name, &limit
	return p
}

// New returns a problem of the given type slug and status, titled by the status text.
func New(slug string, status int, detail string) Problem {
	return Problem{Type: TypeBase + slug, Title: http.StatusText(status), Status: status, Detail: detail}
}

// Write sends p with its status, filling in the request id.
func Write(c echo.Context, p Problem) error {
	if p.RequestID == "" {
		p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return c.Blob(p.Status, ContentType, body)
}
