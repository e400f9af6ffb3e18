package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

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

func TestReap_KeepsUpWithMoreThanOneBatch(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clock := jobstest.NewClock()
	s := newStore(t, srv, jobstest.Options{Now: clock.Now, Retention: time.Minute})
	ctx := context.Background()
	tenant := jobs.Tenant{Org: "o", Tenant: "t"}
	const n = 1200 // more than two script batches
	for i := 0; i < n; i++ {
		j, _, err := s.Create(ctx, jobs.CreateRequest{Job: jobs.Job{Org: tenant.Org, Tenant: tenant.Tenant}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Claim(ctx, "o1", jobs.RobotRef{}, time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Finish(ctx, j.Key, "o1", jobs.Result{State: jobs.Successful}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Minute)
	if _, err := s.Reap(ctx); err != nil {
		t.Fatal(err)
	}
	if _, total, _ := s.List(ctx, tenant, jobs.ListQuery{}); total != 0 {
		t.Fatalf("one Reap left %d of %d expired jobs", total, n)
	}
}

func TestClaim_LostReplyIsHandedToTheSameSlotAgain(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clock := jobstest.NewClock()
	s := newStore(t, srv, jobstest.Options{Now: clock.Now, Retention: time.Minute})
	ctx := context.Background()
	j, _, err := s.Create(ctx, jobs.CreateRequest{Job: jobs.Job{Org: "o", Tenant: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Claim(ctx, "slot-1", jobs.RobotRef{}, time.Minute)
	if err != nil || first.Key != j.Key {
		t.Fatalf("Claim = %v, %v", first.Key, err)
	}
	// The slot never saw that reply and claims again: it gets its job back, not nothing.
	again, err := s.Claim(ctx, "slot-1", jobs.RobotRef{}, time.Minute)
	if err != nil || again.Key != j.Key || again.State != jobs.Running {
		t.Fatalf("second Claim by the same slot = %v %s, %v; want its job again", again.Key, again.State, err)
	}
	if _, err := s.Claim(ctx, "slot-2", jobs.RobotRef{}, time.Minute); jobs.ErrorCode(err) != jobs.ENOTFOUND {
		t.Fatalf("another slot's Claim = %v, want nothing pending", err)
	}
	if _, err := s.Finish(ctx, j.Key, "slot-1", jobs.Result{State: jobs.Successful}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, "slot-1", jobs.RobotRef{}, time.Minute); jobs.ErrorCode(err) != jobs.ENOTFOUND {
		t.Fatalf("Claim after Finish = %v, want nothing (the claim record is gone)", err)
	}
}

func TestNoWakeUps_AnAPIOnlyStoreHearsEveryChangeButPending(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	prefix := fmt.Sprintf("t%d", prefixes.Add(1))
	open := func(noWakeUps bool) (*redisstore.Store, chan jobs.Event) {
		client := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
		t.Cleanup(func() { client.Close() })
		s, err := redisstore.New(context.Background(), redisstore.Config{Client: client, Prefix: prefix, NoWakeUps: noWakeUps})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		events := make(chan jobs.Event, 16)
		s.Subscribe(func(ev jobs.Event) {
			if ev.Kind == jobs.EventChanged {
				events <- ev
			}
		})
		return s, events
	}
	robots, robotEvents := open(false)
	api, apiEvents := open(true)
	ctx := context.Background()
	j, _, err := api.Create(ctx, jobs.CreateRequest{Job: jobs.Job{Org: "o", Tenant: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	next := func(ch chan jobs.Event, who string) jobs.Event {
		t.Helper()
		select {
		case ev := <-ch:
			return ev
		case <-time.After(10 * time.Second):
			t.Fatalf("%s heard nothing within 10s", who)
			return jobs.Event{}
		}
	}
	if ev := next(robotEvents, "the robots' store"); ev.Key != j.Key || ev.State != jobs.Pending {
		t.Fatalf("the robots' store heard %+v first, want the new job Pending", ev)
	}
	if _, err := robots.Claim(ctx, "o1", jobs.RobotRef{}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := robots.Finish(ctx, j.Key, "o1", jobs.Result{State: jobs.Successful}); err != nil {
		t.Fatal(err)
	}
	// The API-only store hears Running and Successful, never Pending.
	for _, want := range []jobs.State{jobs.Running, jobs.Successful} {
		if ev := next(apiEvents, "the API-only store"); ev.Key != j.Key || ev.State != want {
			t.Fatalf("the API-only store heard %+v, want %s", ev, want)
		}
	}
}
