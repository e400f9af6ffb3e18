package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// JobError is the outcome of a job that ended Faulted or Stopped.
type JobError struct {
	// JobKey is the job's key (a UUID).
	JobKey string
	// State is "Faulted" or "Stopped".
	State string
	// Info is what the job or the server said about its end; may be empty.
	Info string
	// Problem is the whole answer.
	Problem *ProblemError
}

func (e *JobError) Error() string {
	info := e.Info
	if info == "" {
		info = "(no info)"
	}
	return fmt.Sprintf("job %s ended %s: %s", e.JobKey, e.State, info)
}

// FieldError names one input that was wrong, as a problem's "errors" member lists them.
type FieldError struct {
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

// ProblemError is an error answer from the server: an RFC 9457 problem document, or, when the
// body was not one (a proxy's page), the status with the body's start as Detail.
type ProblemError struct {
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Type, Title and Detail are the problem's members; Title defaults to the status text.
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	// RequestID is the server's X-Request-Id for this request.
	RequestID string `json:"requestId"`
	// Errors lists the inputs that were wrong (400).
	Errors []FieldError `json:"errors"`
	// JobState, Info and JobKey are set when the problem is a failed job's output.
	JobState string  `json:"jobState"`
	Info     *string `json:"info"`
	JobKey   string  `json:"jobKey"`
	// URL is the request's URL (show it with Redact).
	URL *url.URL `json:"-"`
	// TokenSent tells whether the request carried the bearer token.
	TokenSent bool `json:"-"`
}

func (e *ProblemError) Error() string {
	s := fmt.Sprintf("%d %s", e.Status, e.Title)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// decodeFailure turns an error answer into a *JobError (a failed job's output) or a
// *ProblemError.
func decodeFailure(a answer, req *http.Request) error {
	p := &ProblemError{}
	if err := json.Unmarshal(a.body, p); err != nil {
		p = &ProblemError{Detail: shorten(string(a.body), 200)}
	}
	p.Status, p.URL, p.TokenSent = a.status, req.URL, req.Header.Get("Authorization") != ""
	if p.Title == "" {
		p.Title = http.StatusText(a.status)
	}
	if p.JobState != "" {
		e := &JobError{JobKey: p.JobKey, State: p.JobState, Problem: p}
		if p.Info != nil {
			e.Info = *p.Info
		}
		return e
	}
	return p
}

// shorten makes s one line of at most n bytes.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
