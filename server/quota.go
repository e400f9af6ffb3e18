package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jobgate/jobgate/jobs"
)

// startJobsFit refuses a StartJobs whose JobsCount × input size is over the tenant's
// maxStartJobsBytes quota, before anything is created: one request must not be able to
// fill the store (issue 8, "Amplification"). 413: the same request will never fit.
func startJobsFit(count int64, args map[string]any, limit int64) error {
	if limit <= 0 {
		return nil
	}
	b, err := json.Marshal(args)
	if err != nil {
		return jobs.Errorf(jobs.EINVALID, "the input arguments cannot be stored: %v", err)
	}
	size := int64(len(b))
	if count*size <= limit {
		return nil
	}
	e := jobs.QuotaError(jobs.QuotaStartJobsBytes, limit, 0,
		"JobsCount %d × %d bytes of input arguments is %d bytes, over this tenant's %s quota of %d bytes: start fewer jobs or send less input",
		count, size, count*size, jobs.QuotaStartJobsBytes, limit)
	e.Code = jobs.ETOOLARGE
	e.Fields = []jobs.FieldError{{Name: "startInfo.JobsCount", Detail: fmt.Sprintf("at most %d jobs of this input", limit/max(size, 1))}}
	return e
}

// startedJobJSON is one job of a StartJobs answer: the job without its InputArguments
// (null), which the caller sent and which would repeat JobsCount times; GET Jobs(Id) has
// them.
func startedJobJSON(j jobs.Job) map[string]any {
	j.InputArguments = nil
	m := jobJSON(j)
	m["InputArguments"] = nil
	return m
}

// undoStartJobs answers a StartJobs whose Create failed after some jobs were created (the
// tenant's Pending quota was reached, or the store went away): the jobs created so far are
// stopped (Pending → Stopped), so that the refused request leaves nothing to run.
func (s *Server) undoStartJobs(ctx context.Context, t jobs.Tenant, created []map[string]any, cause error) error {
	for _, j := range created {
		if key, ok := j["Key"].(string); ok {
			_, _ = s.cfg.Store.Stop(context.WithoutCancel(ctx), t, key, jobs.SoftStop)
		}
	}
	return cause
}

// quotaNames are the tenant quotas (trigger.Quotas) as they are named in the config file.
var quotaNames = []string{jobs.QuotaPendingJobs, jobs.QuotaHeldCalls, jobs.QuotaStartJobsBytes}

// refuseQuotas names every quota a Settings body tries to set: quotas are the operator's
// (config file), never the tenant's, whose admin could otherwise lift its own limits.
func refuseQuotas(b *body) {
	for k := range b.raw {
		for _, q := range quotaNames {
			if strings.EqualFold(k, q) {
				b.used[k] = true
				b.bad(k, "is a quota: the operator sets it in the server's config file, and a tenant cannot change its own quotas")
			}
		}
	}
}
