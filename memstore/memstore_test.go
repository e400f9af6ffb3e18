package memstore_test

import (
	"testing"

	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/jobs/jobstest"
	"github.com/jobgate/jobgate/memstore"
)

func TestConformance(t *testing.T) {
	jobstest.Run(t, func(t *testing.T, opt jobstest.Options) jobs.Store {
		return memstore.New(memstore.Config{Now: opt.Now, Retention: opt.Retention})
	})
}
