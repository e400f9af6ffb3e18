package jobs

import (
	"errors"
	"fmt"
)

// Error codes. Every package returns these; only the server turns them into HTTP statuses.
const (
	EINVALID       = "invalid"       // the request is malformed or names bad values (400)
	ENOTFOUND      = "not_found"     // the resource does not exist (404)
	ECONFLICT      = "conflict"      // the resource is not in a state that allows this (409)
	EUNPROCESSABLE = "unprocessable" // well-formed but contradicts earlier input, e.g. an Idempotency-Key reused with another body (422)
	EUNAVAILABLE   = "unavailable"   // a dependency (the store) cannot be reached now (503)
	EINTERNAL      = "internal"      // a bug or an unexpected failure (500)
	ETOOLARGE      = "too_large"     // the request body is over the limit (413)
	EMETHOD        = "method"        // the resource does not accept this method (405)
)

// FieldError names one bad field or argument and says what is wrong with it.
type FieldError struct {
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

// Error is the one error type of jobgate's domain. Message is safe to show to a client.
type Error struct {
	Code    string
	Message string
	// Fields lists per-argument problems (argument validation).
	Fields []FieldError
	// Allow lists the accepted methods when Code is EMETHOD.
	Allow []string
	// Quota names the quota reached when Code is EQUOTA.
	Quota *QuotaExceeded
	// Err is the underlying cause, for logs; it never reaches a client. Optional.
	Err error
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	if len(e.Fields) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s (%d field errors)", e.Code, e.Message, len(e.Fields))
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the *Error's message, or a generic
// text for anything else (whose details must not reach a client).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
