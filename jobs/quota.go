package jobs

import (
	"fmt"
	"time"
)

// EQUOTA is the code of a request refused because the tenant reached one of its quotas
// (429 with Retry-After). The *Error carries the quota in its Quota field.
const EQUOTA = "quota"

// Names of the quotas a tenant has (docs/configuration.md, "Quotas"). A refusal names one.
const (
	// QuotaPendingJobs bounds the tenant's jobs waiting for a robot, across every server.
	QuotaPendingJobs = "maxPendingJobs"
	// QuotaHeldCalls bounds the tenant's LongPolling calls held by one server at once.
	QuotaHeldCalls = "maxHeldCalls"
	// QuotaStartJobsBytes bounds JobsCount × the input's size of one StartJobs.
	QuotaStartJobsBytes = "maxStartJobsBytes"
	// QuotaConnections bounds the connections of one client address (server-wide).
	QuotaConnections = "maxConnsPerAddress"
)

// QuotaExceeded names the quota a refused request ran into.
type QuotaExceeded struct {
	// Name is one of the Quota… names.
	Name string
	// Limit is the quota's value for the tenant.
	Limit int64
	// RetryAfter is when trying again may succeed (the Retry-After header).
	RetryAfter time.Duration
}

// QuotaError returns the EQUOTA error of quota name at limit, with a message for a person.
func QuotaError(name string, limit int64, retryAfter time.Duration, format string, args ...any) *Error {
	return &Error{Code: EQUOTA, Message: fmt.Sprintf(format, args...),
		Quota: &QuotaExceeded{Name: name, Limit: limit, RetryAfter: retryAfter}}
}

// PendingQuotaError is the refusal of a Create that would take tenant t past max Pending
// jobs; both stores return it.
func PendingQuotaError(t Tenant, max int64) *Error {
	return QuotaError(QuotaPendingJobs, max, 5*time.Second,
		"tenant %s already has %d jobs waiting for a robot (its %s quota); try again once some have started", t, max, QuotaPendingJobs)
}
