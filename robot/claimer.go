package robot

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// maxClaimers bounds the claimers of a pool. Claimers, not slots, are what an idle pool
// costs: each is a goroutine (whose stack the store client's deep calls grow to several
// KiB) and one claim per IdleCheck. Eight claims in flight hide the store's round trip:
// with Redis on the same host, eight claimers take 10,000 queued jobs in about a second,
// as fast as a claimer per slot did; and eight idle claims per IdleCheck are no load.
const maxClaimers = 8

// claim is one claimer: until ctx ends, it takes a free slot (waiting while all are in
// use), claims a job for it and starts the job's run, which frees the slot at its end.
// When nothing is pending it gives the slot back and waits for a wake-up (a Pending event,
// a freed slot) or the next IdleCheck. name names the claimer in lease owners; runs counts
// the runs it started.
func (p *Pool) claim(ctx context.Context, name string, runs *sync.WaitGroup) {
	idle := time.NewTicker(p.cfg.IdleCheck)
	defer idle.Stop()
	// Each claim attempt has its own owner id, kept while the answer is uncertain (the store
	// was unreachable): retrying with the same id gets the job the lost reply carried. The
	// claimer keeps its slot meanwhile, as that job may be running under the id already.
	attempt := 0
	held := false // the claimer holds a slot for the next attempt
	for {
		if !held {
			select {
			case p.slots <- struct{}{}:
				held = true
			case <-ctx.Done():
				return
			}
		}
		if ctx.Err() != nil {
			<-p.slots
			return
		}
		owner := fmt.Sprintf("%s#%d", name, attempt)
		job, err := p.cfg.Store.Claim(ctx, owner, p.robot, p.cfg.Lease)
		switch {
		case err == nil:
			attempt++
			held = false // the run frees it
			runs.Add(1)
			go func() {
				defer runs.Done()
				p.run(&job, owner)
				<-p.slots
				// A claimer that found nothing looks again, as a slot that ended its run did.
				p.wakeClaimer()
			}()
			continue // claim for the next free slot at once: more may be pending
		case jobs.ErrorCode(err) == jobs.ENOTFOUND:
			attempt++
			held = false
			<-p.slots
		case ctx.Err() == nil:
			p.cfg.Logger.Warn("robot: claim failed", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-p.wake:
		case <-idle.C:
		}
	}
}

// wakeClaimer wakes one idle claimer, or the next one to go idle. It never blocks: when
// every claimer has a wake-up waiting, one more changes nothing.
func (p *Pool) wakeClaimer() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}
