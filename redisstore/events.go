package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jobgate/jobgate/jobs"
)

// Subscribe implements jobs.Store. Every listener shares the store's one subscription.
func (s *Store) Subscribe(fn func(jobs.Event)) (cancel func()) {
	s.subMu.Lock()
	id := s.nextID
	s.nextID++
	s.subs[id] = fn
	s.subMu.Unlock()
	return func() {
		s.subMu.Lock()
		delete(s.subs, id)
		s.subMu.Unlock()
	}
}

func (s *Store) emit(ev jobs.Event) {
	s.subMu.RLock()
	defer s.subMu.RUnlock()
	for _, fn := range s.subs {
		fn(ev)
	}
}

// listen reads the subscription until ctx ends. go-redis reconnects and resubscribes after a
// connection error; the confirmation of that resubscription tells listeners that messages
// may have been lost meanwhile (EventReset), so held requests and idle robots re-read.
func (s *Store) listen(ctx context.Context) {
	defer close(s.done)
	backoff := 50 * time.Millisecond
	failing := false
	for ctx.Err() == nil {
		msg, err := s.ps.ReceiveTimeout(ctx, 10*time.Second)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, redis.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Quiet channel: ping so that a dead connection is noticed.
				_ = s.ps.Ping(ctx)
				continue
			}
			if !failing {
				s.cfg.Logger.Warn("redisstore: notification subscription lost; reconnecting", "err", err)
				failing = true
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			// One reset per (re)subscription: both channels are subscribed by one command.
			if m.Kind == "subscribe" && m.Channel == s.keys.events() {
				if failing {
					s.cfg.Logger.Info("redisstore: notification subscription restored")
					failing = false
				}
				s.emit(jobs.Event{Kind: jobs.EventReset})
			}
		case *redis.Message:
			if ev, ok := parseEvent(m.Payload); ok {
				s.emit(ev)
			}
		}
	}
}

// parseEvent reads a notification: "<key>|<state>", optionally followed by the final job as
// "|<id>|<org>/<tenant>|<len(info)>|<info><output JSON>" (see finalize in prelude.go).
func parseEvent(payload string) (jobs.Event, bool) {
	key, rest, ok := strings.Cut(payload, "|")
	if !ok {
		return jobs.Event{}, false
	}
	state, rest, full := strings.Cut(rest, "|")
	ev := jobs.Event{Kind: jobs.EventChanged, Key: key, State: jobs.State(state)}
	if !full {
		return ev, true
	}
	idText, rest, _ := strings.Cut(rest, "|")
	tenant, rest, _ := strings.Cut(rest, "|")
	infoLen, rest, _ := strings.Cut(rest, "|")
	org, ten, _ := strings.Cut(tenant, "/")
	id, err1 := strconv.ParseInt(idText, 10, 64)
	n, err2 := strconv.Atoi(infoLen)
	if err1 != nil || err2 != nil || n < 0 || n > len(rest) {
		return ev, true // a malformed snapshot: listeners read the job instead
	}
	j := &jobs.Job{Org: org, Tenant: ten, ID: id, Key: key, State: ev.State, Info: rest[:n]}
	if output := rest[n:]; output != "" {
		if err := json.Unmarshal([]byte(output), &j.OutputArguments); err != nil {
			return ev, true
		}
	}
	ev.Job = j
	return ev, true
}
