// Package robot runs jobs: robot slots that claim jobs with a lease, renew it while an
// executor runs the process, and record the result.
package robot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// Lookup finds a job's process definition.
type Lookup func(t jobs.Tenant, processName string) (jobs.Process, bool)

// Config configures a Pool.
type Config struct {
	// Store holds the jobs. Required.
	Store jobs.Store
	// Lookup finds the process of a job. Required.
	Lookup Lookup
	// Builtins are the Go processes by name. Optional. Default Builtins().
	Builtins map[string]Builtin
	// Slots is how many jobs run at once. Optional. Default 1.
	Slots int
	// Name names the robot in job records. Optional. Default the host name.
	Name string
	// Lease is how long a claim lasts without renewal. Optional. Default 30s; renewed every
	// third of it.
	Lease time.Duration
	// DrainTimeout is how long Run lets running jobs finish after its context ends before
	// handing them back to the queue. Optional. Default 30s.
	DrainTimeout time.Duration
	// IdleCheck is the safety-net interval at which an idle slot looks for work even without
	// a wake-up. Optional. Default 5s.
	IdleCheck time.Duration
	// StopGrace is how long a command process has to end after a SoftStop's SIGTERM before
	// its process group is killed. Optional. Default 10s.
	StopGrace time.Duration
	// LogLimit is how much of a job's output (stdout and stderr, in order) is kept as its
	// log; older output is dropped. Optional. Default 1 MiB.
	LogLimit int
	// LogInterval is how often the log of a running job is stored while it grows. The whole
	// log is stored again when the job ends. Optional. Default 3s.
	LogInterval time.Duration
	// LookupEnv reads the server's environment, from which a command process inherits
	// only PATH, HOME, LANG, TZ and TMPDIR. Optional. Default os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// OnFinish is called with each job this pool finished. Optional.
	OnFinish func(jobs.Job)
	// Logger logs. Optional. Default slog.Default().
	Logger *slog.Logger
}

// Pool is a set of robot slots in this process.
type Pool struct {
	cfg   Config
	robot jobs.RobotRef
	wake  chan struct{}

	mu      sync.Mutex
	running map[string]*activeRun // by job key
}

// Causes of a run's cancellation. Only errSoftStop lets a process end on its own (SIGTERM,
// then a grace period); every other cause ends it at once.
var (
	errSoftStop  = errors.New("stop requested (SoftStop)")
	errKill      = errors.New("stop requested (Kill)")
	errDeadline  = errors.New("deadline passed")
	errLeaseGone = errors.New("lease lost")
	errHandBack  = errors.New("server shutting down")
)

// progressEvery is the shortest time between two progress reports to the store.
const progressEvery = time.Second

// NewPool returns a Pool; Run starts it.
func NewPool(cfg Config) *Pool {
	if cfg.Slots <= 0 {
		cfg.Slots = 1
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 30 * time.Second
	}
	if cfg.IdleCheck <= 0 {
		cfg.IdleCheck = 5 * time.Second
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 10 * time.Second
	}
	if cfg.LogLimit <= 0 {
		cfg.LogLimit = 1 << 20
	}
	if cfg.LogInterval <= 0 {
		cfg.LogInterval = 3 * time.Second
	}
	if cfg.LookupEnv == nil {
		cfg.LookupEnv = os.LookupEnv
	}
	if cfg.Builtins == nil {
		cfg.Builtins = Builtins()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
	}
	host, _ := os.Hostname()
	return &Pool{
		cfg:     cfg,
		robot:   jobs.RobotRef{ID: 1, Name: cfg.Name, MachineName: host},
		wake:    make(chan struct{}, cfg.Slots),
		running: map[string]*activeRun{},
	}
}

// Run runs the slots until ctx is done, then lets running jobs finish for DrainTimeout and
// hands back those still running. It returns when every slot has stopped.
func (p *Pool) Run(ctx context.Context) {
	cancel := p.cfg.Store.Subscribe(p.onEvent)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < p.cfg.Slots; i++ {
		wg.Add(1)
		go func(slot int) {
			defer wg.Done()
			p.slot(ctx, fmt.Sprintf("%s/%d/%d", p.cfg.Name, os.Getpid(), slot))
		}(i)
	}
	<-ctx.Done()
	timer := time.AfterFunc(p.cfg.DrainTimeout, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, r := range p.running {
			r.hardStop(errHandBack)
		}
	})
	wg.Wait()
	timer.Stop()
}

// onEvent wakes an idle slot when work arrives and cancels a run when its job is stopped.
func (p *Pool) onEvent(ev jobs.Event) {
	switch {
	case ev.Kind == jobs.EventReset || ev.State == jobs.Pending:
		select {
		case p.wake <- struct{}{}:
		default:
		}
	case ev.State == jobs.Stopping || ev.State == jobs.Terminating:
		p.mu.Lock()
		if r, ok := p.running[ev.Key]; ok {
			r.stopFor(ev.State)
		}
		p.mu.Unlock()
	}
}

func (p *Pool) slot(ctx context.Context, name string) {
	idle := time.NewTicker(p.cfg.IdleCheck)
	defer idle.Stop()
	// Each claim attempt has its own owner id, kept while the answer is uncertain (the store
	// was unreachable): retrying with the same id gets the job the lost reply carried.
	attempt := 0
	for ctx.Err() == nil {
		owner := fmt.Sprintf("%s#%d", name, attempt)
		job, err := p.cfg.Store.Claim(ctx, owner, p.robot, p.cfg.Lease)
		if err == nil || jobs.ErrorCode(err) == jobs.ENOTFOUND {
			attempt++
		}
		if err == nil {
			p.run(job, owner)
			continue
		}
		if jobs.ErrorCode(err) != jobs.ENOTFOUND && ctx.Err() == nil {
			p.cfg.Logger.Warn("robot: claim failed", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-p.wake:
		case <-idle.C:
		}
	}
}

// run executes one claimed job to its end and records the result.
func (p *Pool) run(job jobs.Job, owner string) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	r := newActiveRun(cancel, p.cfg.LogLimit)
	p.mu.Lock()
	p.running[job.Key] = r
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.running, job.Key)
		p.mu.Unlock()
	}()
	if job.Deadline != nil {
		t := time.AfterFunc(time.Until(*job.Deadline), func() { r.hardStop(errDeadline) })
		defer t.Stop()
	}
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		p.heartbeat(ctx, r, job.Key, owner)
	}()

	start := time.Now()
	output, runErr := p.execute(ctx, job, r)
	cancel(nil) // ends the heartbeat; keeps the first cause
	<-hbDone
	cause := context.Cause(ctx)

	var res jobs.Result
	switch {
	case errors.Is(cause, errLeaseGone):
		p.cfg.Logger.Warn("robot: lost the lease of a running job; its result is dropped", "job", job.Key)
		return
	case errors.Is(cause, errHandBack):
		if _, err := p.cfg.Store.Release(context.Background(), job.Key, owner); err != nil {
			p.cfg.Logger.Warn("robot: could not hand back job", "job", job.Key, "err", err)
		}
		return
	case errors.Is(cause, errDeadline) && runErr != nil:
		res = jobs.Result{State: jobs.Faulted, Info: job.DeadlineInfo}
	case (errors.Is(cause, errSoftStop) || errors.Is(cause, errKill)) && runErr != nil:
		res = stoppedResult(r.stopStrategy())
	case runErr != nil:
		res = jobs.Result{State: jobs.Faulted, Info: runErr.Error()}
	default:
		if output == nil {
			output = map[string]any{}
		}
		res = jobs.Result{State: jobs.Successful, OutputArguments: output}
	}
	res.Log = r.log.String()
	done, err := p.finish(job.Key, owner, res)
	if jobs.ErrorCode(err) == jobs.ECONFLICT && res.State != jobs.Stopped {
		// A Kill that came too late to end the run still ends the job: Terminating allows
		// only Stopped (or Faulted).
		if cur, gerr := p.cfg.Store.Get(context.Background(), job.TenantRef(), job.Key); gerr == nil && cur.State == jobs.Terminating {
			stopped := stoppedResult(jobs.Kill)
			stopped.Log = res.Log
			res = stopped
			done, err = p.finish(job.Key, owner, res)
		}
	}
	if err != nil {
		p.cfg.Logger.Error("robot: could not record the result of a job", "job", job.Key, "state", res.State, "err", err)
		return
	}
	p.cfg.Logger.Debug("robot: job finished", "job", job.Key, "state", done.State, "took", time.Since(start))
	if p.cfg.OnFinish != nil {
		p.cfg.OnFinish(done)
	}
}

// stoppedResult is the result of a run ended by a stop request.
func stoppedResult(s jobs.StopStrategy) jobs.Result {
	return jobs.Result{State: jobs.Stopped, Info: fmt.Sprintf("Stopped on request (%s)", s)}
}

// finish records a result, retrying while the store is unreachable: a robot that finished a
// job must not lose its result to a short outage. Domain refusals (lease lost, already
// final) are not retried.
func (p *Pool) finish(key, owner string, res jobs.Result) (jobs.Job, error) {
	backoff := 100 * time.Millisecond
	deadline := time.Now().Add(10 * time.Minute)
	for {
		done, err := p.cfg.Store.Finish(context.Background(), key, owner, res)
		code := jobs.ErrorCode(err)
		if err == nil || (code != jobs.EUNAVAILABLE && code != jobs.EINTERNAL) || time.Now().After(deadline) {
			return done, err
		}
		p.cfg.Logger.Warn("robot: store unavailable, will retry recording the result", "job", key, "in", backoff, "err", err)
		time.Sleep(backoff)
		backoff = min(backoff*2, 5*time.Second)
	}
}

// heartbeat renews the lease every third of it until ctx ends, pushes progress soon after
// it changes (at most once per progressEvery), and stores the log while it grows (every
// LogInterval). A renewal that finds the job stopping stops the run; one that finds the
// lease gone ends it.
func (p *Pool) heartbeat(ctx context.Context, r *activeRun, key, owner string) {
	renewTick := time.NewTicker(p.cfg.Lease / 3)
	defer renewTick.Stop()
	logTick := time.NewTicker(p.cfg.LogInterval)
	defer logTick.Stop()
	var (
		lastRenew   time.Time
		progressDue <-chan time.Time
		storedLog   uint64
	)
	renew := func() bool {
		pr := r.takeProgress()
		job, err := p.cfg.Store.Renew(context.Background(), key, owner, p.cfg.Lease, pr)
		lastRenew = time.Now()
		switch {
		case jobs.ErrorCode(err) == jobs.ECONFLICT || jobs.ErrorCode(err) == jobs.ENOTFOUND:
			r.hardStop(errLeaseGone)
			return false
		case err != nil:
			r.putBackProgress(pr)
			p.cfg.Logger.Warn("robot: lease renewal failed", "job", key, "err", err)
		case job.State == jobs.Stopping || job.State == jobs.Terminating:
			r.stopFor(job.State)
		}
		return true
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-renewTick.C:
			if !renew() {
				return
			}
		case <-r.progressed:
			if progressDue != nil {
				continue // a push is already scheduled; it takes the latest progress
			}
			if wait := time.Until(lastRenew.Add(progressEvery)); wait > 0 {
				progressDue = time.After(wait)
				continue
			}
			if !renew() {
				return
			}
		case <-progressDue:
			progressDue = nil
			if !renew() {
				return
			}
		case <-logTick.C:
			log, version := r.log.snapshot()
			if version == storedLog {
				continue
			}
			if err := p.cfg.Store.WriteLog(context.Background(), key, owner, log); err != nil {
				// A lost lease is found out by the next renewal; the log is stored again.
				p.cfg.Logger.Debug("robot: could not store the log of a running job", "job", key, "err", err)
				continue
			}
			storedLog = version
		}
	}
}

// execute runs the job's process and turns a panic into a fault.
func (p *Pool) execute(ctx context.Context, job jobs.Job, r *activeRun) (out map[string]any, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			p.cfg.Logger.Error("robot: process panicked", "job", job.Key, "panic", rec)
			out, err = nil, fmt.Errorf("the process crashed: %v", rec)
		}
	}()
	proc, ok := p.cfg.Lookup(job.TenantRef(), job.ProcessName)
	if !ok {
		return nil, fmt.Errorf("process %q no longer exists", job.ProcessName)
	}
	if len(proc.Command) > 0 {
		return p.runCommand(ctx, job, proc, r)
	}
	if proc.Builtin != "" {
		b, ok := p.cfg.Builtins[proc.Builtin]
		if !ok {
			return nil, fmt.Errorf("unknown builtin process %q", proc.Builtin)
		}
		return b.Run(ctx, job.InputArguments, r.report)
	}
	return nil, fmt.Errorf("process %q has neither a builtin nor a command", proc.Name)
}
