// Package robot runs jobs: robot slots that claim jobs with a lease, renew it while an
// executor runs the process, and record the result.
//
// A slot is only a count: a few claimers (claimer.go) claim jobs for every free slot, each
// claimed job runs in a goroutine of its own, and timers keep its record fresh
// (heartbeat.go). An idle slot costs nothing, and a running job one goroutine.
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

// Lookup finds a job's process definition. Codes: ENOTFOUND when the process does not exist,
// ECONFLICT when it may not run (the job faults with the error's message); any other error
// (the store is unreachable) is retried.
type Lookup func(t jobs.Tenant, processName string) (jobs.Process, error)

// Config configures a Pool.
type Config struct {
	// Store holds the jobs. Required.
	Store jobs.Store
	// Lookup finds the process of a job. Required.
	Lookup Lookup
	// Builtins are the Go processes by name. Optional. Default Builtins().
	Builtins map[string]Builtin
	// Slots is how many jobs run at once. Optional. Default 1. Slots cost nothing while
	// idle: min(Slots, 8) claimer goroutines claim jobs for all of them, and a running job
	// costs one goroutine.
	Slots int
	// Name names the robot in job records. Optional. Default the host name.
	Name string
	// Lease is how long a claim lasts without renewal. Optional. Default 30s; renewed every
	// third of it.
	Lease time.Duration
	// DrainTimeout is how long Run lets running jobs finish after its context ends before
	// handing them back to the queue. Optional. Default 30s.
	DrainTimeout time.Duration
	// IdleCheck is the safety-net interval at which each idle claimer looks for work even
	// without a wake-up, and at which a claimer retries after a failed claim: the store
	// sees at most min(Slots, 8) idle claims per IdleCheck. Optional. Default 5s.
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
	// Sandbox, when set, runs command processes in a sandbox (SandboxConfig). Optional.
	// Default nil: they run as direct children of the server, as its user, in a process
	// group of their own.
	Sandbox *SandboxConfig
	// OnFinish is called with each job this pool finished. Optional.
	OnFinish func(jobs.Job)
	// Logger logs. Optional. Default slog.Default().
	Logger *slog.Logger
}

// Pool is a set of robot slots in this process.
type Pool struct {
	cfg      Config
	robot    jobs.RobotRef
	claimers int
	// slots holds one token per slot in use: a claimer sends one to take a free slot (and
	// blocks while all are in use); a run's end, or a claim that found nothing, takes it out.
	slots chan struct{}
	// wake holds wake-ups for idle claimers, one per claimer at most: one Pending event
	// wakes one claimer, a burst wakes them all (each claims until nothing is left).
	wake chan struct{}

	// root holds the sandboxed jobs' own directories (jobsRoot), made at the first one.
	rootOnce sync.Once
	root     string
	rootErr  error

	mu         sync.Mutex
	running    map[string]*activeRun // by job key
	handedBack bool                  // the drain timeout passed: a run that starts now is handed back
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
	claimers := min(cfg.Slots, maxClaimers)
	return &Pool{
		cfg:      cfg,
		robot:    jobs.RobotRef{ID: 1, Name: cfg.Name, MachineName: host},
		claimers: claimers,
		slots:    make(chan struct{}, cfg.Slots),
		wake:     make(chan struct{}, claimers),
		running:  map[string]*activeRun{},
	}
}

// Run runs the claimers until ctx is done, then lets running jobs finish for DrainTimeout
// and hands back those still running. It returns when every run has ended.
func (p *Pool) Run(ctx context.Context) {
	cancel := p.cfg.Store.Subscribe(p.onEvent)
	defer cancel()
	var claimers, runs sync.WaitGroup
	for i := range p.claimers {
		claimers.Add(1)
		go func() {
			defer claimers.Done()
			p.claim(ctx, fmt.Sprintf("%s/%d/c%d", p.cfg.Name, os.Getpid(), i), &runs)
		}()
	}
	<-ctx.Done()
	timer := time.AfterFunc(p.cfg.DrainTimeout, p.handBack)
	claimers.Wait() // no claimer starts a run after this
	runs.Wait()
	timer.Stop()
	if p.root != "" {
		_ = os.RemoveAll(p.root) // the jobs' directories are gone already; this is their parent
	}
}

// handBack ends the runs still going when the drain timeout passes; their jobs go back to
// the queue. A run that a claim in flight starts later is handed back as it starts.
func (p *Pool) handBack() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.handedBack = true
	for _, r := range p.running {
		r.hardStop(errHandBack)
	}
}

// onEvent wakes an idle claimer when work arrives and cancels a run when its job is stopped.
func (p *Pool) onEvent(ev jobs.Event) {
	switch {
	case ev.Kind == jobs.EventReset || ev.State == jobs.Pending:
		p.wakeClaimer()
	case ev.State == jobs.Stopping || ev.State == jobs.Terminating:
		p.mu.Lock()
		if r, ok := p.running[ev.Key]; ok {
			r.stopFor(ev.State)
		}
		p.mu.Unlock()
	}
}

// run executes one claimed job to its end and records the result.
//
// Its goroutine's stack is most of what a running job costs, so what sits on it while the
// process runs is kept small: the job by pointer, the process found by executor, and the
// recording of the result in a function of its own.
func (p *Pool) run(job *jobs.Job, owner string) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	r := newActiveRun(cancel, p.cfg.LogLimit)
	p.mu.Lock()
	p.running[job.Key] = r
	if p.handedBack {
		r.hardStop(errHandBack)
	}
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
	hb := p.startHeartbeat(r, job.Key, owner)

	start := time.Now()
	output, runErr := p.execute(ctx, job, r)
	cancel(nil) // keeps the first cause
	hb.stop()   // no store call of the heartbeat after this: Finish and Release come last
	p.record(job, owner, r, output, runErr, context.Cause(ctx), start)
}

// record ends a run: it stores the job's result, or hands the job back, or drops the
// result of a run whose lease was lost. cause is why the run was cancelled, if it was.
func (p *Pool) record(job *jobs.Job, owner string, r *activeRun, output map[string]any, runErr, cause error, start time.Time) {
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
		res = successResult(output) // Faulted when over MaxOutputBytes
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

// execute runs the job's process and turns a panic into a fault.
func (p *Pool) execute(ctx context.Context, job *jobs.Job, r *activeRun) (out map[string]any, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			p.cfg.Logger.Error("robot: process panicked", "job", job.Key, "panic", rec)
			out, err = nil, fmt.Errorf("the process crashed: %v", rec)
		}
	}()
	exec, err := p.executor(ctx, job)
	if err != nil {
		return nil, err
	}
	return exec(ctx, r)
}

// lookupGiveUp is how long a run retries reading its process definition from an
// unreachable store before the job faults.
const lookupGiveUp = 10 * time.Minute

// executor finds the job's process and returns what runs it: its command or its builtin.
// A process that cannot be read for now (its definition is in an unreachable store) is read
// again until the store answers, the run is stopped, or lookupGiveUp passes: a short outage
// must not fault the job as if its process were gone.
func (p *Pool) executor(ctx context.Context, job *jobs.Job) (func(context.Context, *activeRun) (map[string]any, error), error) {
	proc, err := p.cfg.Lookup(job.TenantRef(), job.ProcessName)
	backoff, giveUp := 100*time.Millisecond, time.Now().Add(lookupGiveUp)
	for err != nil && jobs.ErrorCode(err) != jobs.ENOTFOUND && jobs.ErrorCode(err) != jobs.ECONFLICT && time.Now().Before(giveUp) {
		p.cfg.Logger.Warn("robot: cannot read the process of a job, will retry", "job", job.Key, "process", job.ProcessName, "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
		proc, err = p.cfg.Lookup(job.TenantRef(), job.ProcessName)
	}
	switch {
	case jobs.ErrorCode(err) == jobs.ENOTFOUND:
		return nil, fmt.Errorf("process %q no longer exists", job.ProcessName)
	case jobs.ErrorCode(err) == jobs.ECONFLICT: // the process may not run (an API command release)
		return nil, errors.New(jobs.ErrorMessage(err))
	case err != nil:
		return nil, fmt.Errorf("the definition of process %q could not be read: %v", job.ProcessName, err)
	}
	if len(proc.Command) > 0 {
		return func(ctx context.Context, r *activeRun) (map[string]any, error) {
			return p.runCommand(ctx, job, &proc, r)
		}, nil
	}
	if proc.Builtin != "" {
		b, ok := p.cfg.Builtins[proc.Builtin]
		if !ok {
			return nil, fmt.Errorf("unknown builtin process %q", proc.Builtin)
		}
		return func(ctx context.Context, r *activeRun) (map[string]any, error) {
			return b.Run(ctx, job.InputArguments, r.report)
		}, nil
	}
	return nil, fmt.Errorf("process %q has neither a builtin nor a command", proc.Name)
}
