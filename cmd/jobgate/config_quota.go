package main

import (
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/trigger"
)

// operatorOnly reports whether the settings block holds operator-only settings (quotas,
// allowApiCommands) and nothing else: then the
// tenant's call-mode settings stay its own (API-settable) instead of being declared by
// the file with their defaults.
func (s *fileSettings) operatorOnly() bool {
	operator := s.MaxPendingJobs != nil || s.MaxHeldCalls != nil || s.MaxStartJobsBytes != nil || s.AllowAPICommands != nil
	return operator && s.RequireAuthOnRedirects == nil && s.RedirectStatus == nil
}

// setQuotas declares the tenant's quotas the settings block gives (the others keep their
// defaults). A nil block declares nothing.
func (s *fileSettings) setQuotas(cat *trigger.Catalog, t jobs.Tenant) error {
	if s == nil || (s.MaxPendingJobs == nil && s.MaxHeldCalls == nil && s.MaxStartJobsBytes == nil) {
		return nil
	}
	var q trigger.Quotas
	for _, f := range []struct {
		v   *int64
		dst *int64
	}{{s.MaxPendingJobs, &q.MaxPendingJobs}, {s.MaxHeldCalls, &q.MaxHeldCalls}, {s.MaxStartJobsBytes, &q.MaxStartJobsBytes}} {
		if f.v != nil {
			if *f.v <= 0 {
				*f.dst = -1 // refused by Validate: a quota of 0 would look like "the default"
				continue
			}
			*f.dst = *f.v
		}
	}
	return cat.SetQuotas(t, q)
}
