package callmode

import (
	"container/list"
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// outputCache shares the encoded answers of large final outputs between the requests that
// read them. A final job's output never changes, so every connection that asks for it —
// however slowly it reads — writes from the one encoded copy instead of holding a job
// read from the store and an encoding of its own (issue 8, "Slow readers": 100 connections
// pipelining a 4 MB output took the heap from 18 to 406 MB; one copy is 4 MB). Reads of
// the same job that miss at once share one store read (a flight). Outputs under
// cacheMinBytes are not kept: they cost less than the bookkeeping. The zero value is not
// ready: use newOutputCache.
type outputCache struct {
	maxBytes int64
	ttl      time.Duration

	mu      sync.Mutex
	entries map[string]*list.Element // job key → *cachedOutput, most recent first in lru
	lru     list.List
	bytes   int64
	flights map[flightKey]*flight
}

// cachedOutput is one job's encoded Successful answer.
type cachedOutput struct {
	key    string
	tenant jobs.Tenant
	body   []byte
	at     time.Time
}

type flightKey struct {
	t   jobs.Tenant
	key string
}

// flight is one store read that concurrent readers of the same job share.
type flight struct {
	done chan struct{}
	job  jobs.Job
	err  error
}

// cacheMinBytes: smaller outputs are encoded per request, as before.
const cacheMinBytes = 64 << 10

func newOutputCache(maxBytes int64, ttl time.Duration) *outputCache {
	return &outputCache{maxBytes: maxBytes, ttl: ttl, entries: map[string]*list.Element{}, flights: map[flightKey]*flight{}}
}

// lookup returns the cached answer of t's job key, if any (and not expired).
func (oc *outputCache) lookup(t jobs.Tenant, key string) ([]byte, bool) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	el, ok := oc.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cachedOutput)
	if e.tenant != t || time.Since(e.at) > oc.ttl {
		if e.tenant == t {
			oc.removeLocked(el)
		}
		return nil, false
	}
	oc.lru.MoveToFront(el)
	return e.body, true
}

// read returns t's job key, sharing one store read among the callers that ask at once.
func (oc *outputCache) read(ctx context.Context, store jobs.Store, t jobs.Tenant, key string) (jobs.Job, error) {
	fk := flightKey{t, key}
	oc.mu.Lock()
	f, joined := oc.flights[fk]
	if !joined {
		f = &flight{done: make(chan struct{})}
		oc.flights[fk] = f
	}
	oc.mu.Unlock()
	if joined {
		select {
		case <-f.done:
			return f.job, f.err
		case <-ctx.Done():
			return jobs.Job{}, ctx.Err()
		}
	}
	// The read outlives a caller that leaves: the others wait for it.
	f.job, f.err = store.Get(context.WithoutCancel(ctx), t, key)
	oc.mu.Lock()
	delete(oc.flights, fk)
	oc.mu.Unlock()
	close(f.done)
	return f.job, f.err
}

// encode returns the answer body of a Successful job's output (JSON and a newline, as
// Echo's c.JSON writes), keeping it when it is large enough to be worth sharing.
func (oc *outputCache) encode(job jobs.Job) ([]byte, error) {
	if body, ok := oc.lookup(job.TenantRef(), job.Key); ok {
		return body, nil
	}
	out := job.OutputArguments
	if out == nil {
		out = map[string]any{}
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	body = append(body, '\n')
	if len(body) >= cacheMinBytes && int64(len(body)) <= oc.maxBytes {
		oc.add(&cachedOutput{key: job.Key, tenant: job.TenantRef(), body: body, at: time.Now()})
	}
	return body, nil
}

// add keeps e, dropping the least recently used answers beyond maxBytes.
func (oc *outputCache) add(e *cachedOutput) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if el, ok := oc.entries[e.key]; ok {
		oc.removeLocked(el)
	}
	oc.entries[e.key] = oc.lru.PushFront(e)
	oc.bytes += int64(len(e.body))
	for oc.bytes > oc.maxBytes {
		oc.removeLocked(oc.lru.Back())
	}
}

func (oc *outputCache) removeLocked(el *list.Element) {
	e := el.Value.(*cachedOutput)
	oc.lru.Remove(el)
	delete(oc.entries, e.key)
	oc.bytes -= int64(len(e.body))
}
