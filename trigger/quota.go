package trigger

import (
	"fmt"
	"sync"

	"github.com/jobgate/jobgate/jobs"
)

// Quotas are one tenant's resource limits (docs/configuration.md, "Quotas"). Only the
// operator sets them, in the config file; the management API neither shows nor changes
// them, so a tenant cannot raise its own.
type Quotas struct {
	// MaxPendingJobs is the most jobs the tenant may have waiting for a robot, counted
	// across every server sharing the store (inside the store's create and claim steps).
	// Optional. Default 10,000.
	MaxPendingJobs int64
	// MaxHeldCalls is the most LongPolling calls of the tenant one server holds at once
	// (an in-process count: n servers hold up to n times as many). Optional. Default 1,000.
	MaxHeldCalls int64
	// MaxStartJobsBytes bounds one StartJobs: JobsCount × the size of its InputArguments.
	// Optional. Default 16 MiB.
	MaxStartJobsBytes int64
}

// DefaultQuotas returns the quotas of a tenant the config file gives none: generous for
// one business, small enough that one tenant cannot fill the store or the server.
func DefaultQuotas() Quotas {
	return Quotas{MaxPendingJobs: 10_000, MaxHeldCalls: 1_000, MaxStartJobsBytes: 16 << 20}
}

// WithDefaults returns q with every unset (zero) quota at its default.
func (q Quotas) WithDefaults() Quotas {
	d := DefaultQuotas()
	if q.MaxPendingJobs == 0 {
		q.MaxPendingJobs = d.MaxPendingJobs
	}
	if q.MaxHeldCalls == 0 {
		q.MaxHeldCalls = d.MaxHeldCalls
	}
	if q.MaxStartJobsBytes == 0 {
		q.MaxStartJobsBytes = d.MaxStartJobsBytes
	}
	return q
}

// Validate reports EINVALID for a quota that is not positive.
func (q Quotas) Validate() error {
	for name, v := range map[string]int64{jobs.QuotaPendingJobs: q.MaxPendingJobs,
		jobs.QuotaHeldCalls: q.MaxHeldCalls, jobs.QuotaStartJobsBytes: q.MaxStartJobsBytes} {
		if v < 0 {
			return &jobs.Error{Code: jobs.EINVALID, Message: fmt.Sprintf("%s must be a positive number", name),
				Fields: []jobs.FieldError{{Name: name, Detail: "must be a positive number"}}}
		}
	}
	return nil
}

// quotaTable holds the quotas the config file declares, by tenant. The zero value is empty.
type quotaTable struct {
	mu sync.RWMutex
	by map[jobs.Tenant]Quotas
}

// SetQuotas declares tenant t's quotas (unset ones take their defaults). Codes: EINVALID.
func (c *Catalog) SetQuotas(t jobs.Tenant, q Quotas) error {
	if err := q.Validate(); err != nil {
		return err
	}
	if err := c.AddTenant(t); err != nil {
		return err
	}
	c.quotas.mu.Lock()
	defer c.quotas.mu.Unlock()
	if c.quotas.by == nil {
		c.quotas.by = map[jobs.Tenant]Quotas{}
	}
	c.quotas.by[t] = q.WithDefaults()
	return nil
}

// Quotas returns tenant t's quotas: those the config file declares, else the defaults.
func (c *Catalog) Quotas(t jobs.Tenant) Quotas {
	c.quotas.mu.RLock()
	q, ok := c.quotas.by[t]
	c.quotas.mu.RUnlock()
	if !ok {
		return DefaultQuotas()
	}
	return q
}
