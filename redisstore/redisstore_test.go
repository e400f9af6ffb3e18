package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/jobgate/jobgate/internal/redistest"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/jobs/jobstest"
	"github.com/jobgate/jobgate/redisstore"
)

var prefixes atomic.Int64

// newStore returns a store on srv under a prefix of its own.
func newStore(t *testing.T, srv *redistest.Server, opt jobstest.Options) *redisstore.Store {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	s, err := redisstore.New(context.Background(), redisstore.Config{
		Client: client, Prefix: fmt.Sprintf("t%d", prefixes.Add(1)), Now: opt.Now, Retention: opt.Retention,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	jobstest.Run(t, func(t *testing.T, opt jobstest.Options) jobs.Store {
		return newStore(t, srv, opt)
	})
}
