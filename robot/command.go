package robot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/sandbox"
)

// Limits of the command executor.
const (
	// stderrTailLimit bounds the end of stderr that becomes a failed job's Info.
	stderrTailLimit = 4 << 10
	// maxOutputFile bounds the output file a process may write.
	maxOutputFile = 4 << 20
	// maxEnvValue is the longest JOBGATE_INPUT put in the environment: Linux refuses to
	// start a process with one environment string over 128 KiB. Larger input arrives on
	// stdin only.
	maxEnvValue = 128<<10 - len("JOBGATE_INPUT=") - 1
	// groupGoneWait bounds the wait for a killed process group to disappear.
	groupGoneWait = 2 * time.Second
	// pipesDrainWait bounds the wait for stdout and stderr to close once the group is
	// killed (a process that left the group may still hold them).
	pipesDrainWait = 2 * time.Second
)

// inheritedEnv names the only variables a command process inherits from the server: the
// server's secrets (JWT key, Redis password…) never reach a child.
var inheritedEnv = []string{"PATH", "HOME", "LANG", "TZ", "TMPDIR"}

// runCommand runs a command process (docs/configuration.md, "Command processes")
// and returns its output arguments. Its stdout and stderr go to the run's log; progress
// lines on stdout are reported. The process runs in a process group of its own (or, with a
// Sandbox, under a sandbox init in namespaces of its own), and all of it is killed before
// runCommand returns, so nothing the job started outlives it.
//
// A SoftStop (ctx cancelled with errSoftStop) sends SIGTERM to the group and SIGKILL after
// StopGrace, or at once when the run's kill channel closes; any other cancellation, and the
// process's timeout, send SIGKILL at once. It returns the cancellation's cause when the run
// was cancelled, and otherwise an error whose text is the job's Info when the process failed.
func (p *Pool) runCommand(ctx context.Context, job *jobs.Job, proc *jobs.Process, r *activeRun) (map[string]any, error) {
	if ctx.Err() != nil {
		return nil, context.Cause(ctx) // stopped before it started
	}
	cr, err := p.prepareCommand(job, proc)
	if err != nil {
		return nil, err
	}
	defer cr.cleanup()
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("could not start the process: %v", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("could not start the process: %v", err)
	}
	sc, err := p.startCommand(cr, proc, outW, errW)
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("could not start the process: %v", err)
	}
	if sc.status != nil {
		defer sc.status.Close()
	}

	stderrTail := newLogTail(stderrTailLimit)
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		w := &progressWatcher{report: r.report}
		_, _ = io.Copy(io.MultiWriter(r.log, w), outR)
		w.endLine()
	}()
	go func() {
		defer readers.Done()
		_, _ = io.Copy(io.MultiWriter(r.log, stderrTail), errR)
	}()
	ended, waitErr := p.superviseCommand(ctx, proc, r, sc)
	// Whatever the process left running in its group (background children) ends with it.
	if !endGroup(sc.pgid, groupGoneWait) {
		p.cfg.Logger.Warn("robot: processes of a finished job are still alive after SIGKILL", "job", job.Key, "pgid", sc.pgid)
	}
	drainPipes(&readers, outR, errR)

	if ended != nil {
		return nil, ended
	}
	how := howFromWait(waitErr)
	if sc.status != nil {
		st, ok := sandbox.ReadStatus(sc.status)
		if ok && st.Error != "" {
			return nil, fmt.Errorf("could not start the process: %s", st.Error)
		}
		how = howFromSandbox(st, ok, waitErr)
	}
	if !how.success() {
		return nil, processFailure(how, stderrTail)
	}
	return readOutputFile(cr.outputPath, cr.owner)
}

// commandRun is a command job prepared to start: its own directory, input and environment.
type commandRun struct {
	dir, outputPath string
	stdin           *os.File
	env             []string
	path            string
	// user is who a sandboxed job runs as; owner the uid its output file must have (-1:
	// not checked, the process runs as the server's user).
	user    jobUser
	owner   int64
	cleanup func()
}

// prepareCommand makes the job's private directory (owned by the job's uid when sandboxed),
// opens its input and builds its environment.
func (p *Pool) prepareCommand(job *jobs.Job, proc *jobs.Process) (*commandRun, error) {
	cr := &commandRun{owner: -1}
	var undo []func()
	cr.cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	fail := func(format string, err error) (*commandRun, error) {
		cr.cleanup()
		return nil, fmt.Errorf(format, err)
	}
	parent := ""
	if sb := p.cfg.Sandbox; sb != nil {
		root, err := p.jobsRoot()
		if err != nil {
			return fail("could not make the job's temporary directory: %v", err)
		}
		parent = root
		if cr.user, err = sb.takeUser(proc); err != nil {
			return fail("could not start the process: %v", err)
		}
		undo = append(undo, cr.user.release)
		cr.owner = int64(cr.user.uid)
	}
	dir, err := os.MkdirTemp(parent, "jobgate-job-")
	if err != nil {
		return fail("could not make the job's temporary directory: %v", err)
	}
	cr.dir, cr.outputPath = dir, filepath.Join(dir, "output.json")
	undo = append(undo, func() { os.RemoveAll(dir) })
	if cr.owner >= 0 {
		if err := os.Chown(dir, int(cr.user.uid), int(cr.user.gid)); err != nil {
			return fail("could not make the job's temporary directory: %v", err)
		}
	}

	input := job.InputArguments
	if input == nil {
		input = map[string]any{}
	}
	inputJSON, err := json.Marshal(input)
	if err != nil {
		return fail("could not encode the input arguments: %v", err)
	}
	// stdin is a file, not a pipe: a process that never reads it cannot block the robot.
	// It is unlinked once open, so the job's directory holds only what the job writes.
	stdinPath := filepath.Join(dir, "input.json")
	if err := os.WriteFile(stdinPath, inputJSON, 0o600); err != nil {
		return fail("could not write the input arguments: %v", err)
	}
	if cr.stdin, err = os.Open(stdinPath); err != nil {
		return fail("could not open the input arguments: %v", err)
	}
	undo = append(undo, func() { cr.stdin.Close() })
	os.Remove(stdinPath)

	cr.env = p.commandEnv(job, proc, inputJSON, cr.outputPath)
	if p.cfg.Sandbox != nil && proc.Env["HOME"] == "" {
		cr.env = setEnv(cr.env, "HOME", dir) // the server's HOME is not the job's uid's
	}
	if cr.path, err = lookCommand(proc.Command[0], cr.env); err != nil {
		return fail("could not start the process: %v", err)
	}
	return cr, nil
}

// startedCommand is a running command process: the process itself, or the sandbox init.
type startedCommand struct {
	cmd  *exec.Cmd
	pgid int
	// term asks the process to end (SoftStop): SIGTERM to its group, or to the sandbox
	// init, which sends it to every process of the namespace.
	term func()
	// status is the sandbox init's status pipe; nil without a sandbox.
	status *os.File
	exited chan error
}

// startCommand starts the prepared command with stdout and stderr on the given pipes.
func (p *Pool) startCommand(cr *commandRun, proc *jobs.Process, stdout, stderr *os.File) (*startedCommand, error) {
	sc := &startedCommand{exited: make(chan error, 1)}
	sb := p.cfg.Sandbox
	var spec sandbox.Spec
	var specW *os.File
	if sb == nil {
		sc.cmd = &exec.Cmd{
			Path: cr.path, Args: proc.Command, Env: cr.env, Dir: proc.WorkingDir,
			SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
		}
	} else {
		spec = sb.sandboxSpec(proc, cr.path, cr.env, cr.dir, cr.user)
		var err error
		if sc.cmd, specW, sc.status, err = sb.sandboxedCmd(spec); err != nil {
			return nil, err
		}
	}
	sc.cmd.Stdin, sc.cmd.Stdout, sc.cmd.Stderr = cr.stdin, stdout, stderr
	err := sc.cmd.Start()
	for _, f := range sc.cmd.ExtraFiles {
		f.Close() // the init's ends
	}
	if err != nil {
		if specW != nil {
			specW.Close()
			sc.status.Close()
		}
		return nil, err
	}
	sc.pgid = sc.cmd.Process.Pid // Setpgid with Pgid 0: the group is named after the process
	pgid := sc.pgid
	sc.term = func() { signalGroup(pgid, syscall.SIGTERM) }
	if specW != nil {
		go writeSpec(specW, spec)
		sc.term = func() { _ = syscall.Kill(pgid, syscall.SIGTERM) }
	}
	go func() { sc.exited <- sc.cmd.Wait() }()
	return sc, nil
}

// superviseCommand waits for the process to end, ending it on its timeout or the run's
// cancellation. ended says why jobgate ended it, if it did.
func (p *Pool) superviseCommand(ctx context.Context, proc *jobs.Process, r *activeRun, sc *startedCommand) (ended, waitErr error) {
	var timeout <-chan time.Time
	if proc.Timeout > 0 {
		t := time.NewTimer(proc.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case waitErr = <-sc.exited:
	case <-timeout:
		signalGroup(sc.pgid, syscall.SIGKILL)
		waitErr = <-sc.exited
		ended = fmt.Errorf("the process timed out after %s", proc.Timeout)
	case <-ctx.Done():
		ended = context.Cause(ctx)
		if errors.Is(ended, errSoftStop) {
			sc.term()
			grace := time.NewTimer(p.cfg.StopGrace)
			select {
			case waitErr = <-sc.exited:
			case <-grace.C:
				signalGroup(sc.pgid, syscall.SIGKILL)
				waitErr = <-sc.exited
			case <-r.kill:
				signalGroup(sc.pgid, syscall.SIGKILL)
				waitErr = <-sc.exited
			}
			grace.Stop()
		} else {
			signalGroup(sc.pgid, syscall.SIGKILL)
			waitErr = <-sc.exited
		}
	}
	return ended, waitErr
}

// drainPipes waits for the readers of stdout and stderr to reach their end, at most
// pipesDrainWait: a process outside the group may still hold the pipes (without a
// sandbox); then it stops reading what it writes.
func drainPipes(readers *sync.WaitGroup, outR, errR *os.File) {
	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(pipesDrainWait):
		outR.Close()
		errR.Close()
		<-drained
	}
	outR.Close()
	errR.Close()
}

// setEnv sets name=value in a sorted "K=V" environment.
func setEnv(env []string, name, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	out = append(out, name+"="+value)
	sort.Strings(out)
	return out
}

// commandEnv builds a command process's environment: the inherited variables, then the
// process's declared env, then the JOBGATE_ variables (which nothing overrides).
func (p *Pool) commandEnv(job *jobs.Job, proc *jobs.Process, input []byte, outputPath string) []string {
	vars := map[string]string{}
	for _, name := range inheritedEnv {
		if v, ok := p.cfg.LookupEnv(name); ok {
			vars[name] = v
		}
	}
	for k, v := range proc.Env {
		vars[k] = v
	}
	delete(vars, "JOBGATE_INPUT")
	if len(input) <= maxEnvValue {
		vars["JOBGATE_INPUT"] = string(input)
	}
	vars["JOBGATE_OUTPUT"] = outputPath
	vars["JOBGATE_JOB_KEY"] = job.Key
	vars["JOBGATE_JOB_ID"] = strconv.FormatInt(job.ID, 10)
	vars["JOBGATE_PROCESS"] = proc.Name
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// lookCommand finds the program of argv[0]. A name with a slash is used as given (relative
// to the working directory); a bare name is looked up in the absolute directories of the
// process's own PATH.
func lookCommand(name string, env []string) (string, error) {
	if name == "" {
		return "", errors.New("the command is empty")
	}
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathVar := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v
		}
	}
	for _, d := range filepath.SplitList(pathVar) {
		if !filepath.IsAbs(d) {
			continue
		}
		full := filepath.Join(d, name)
		if fi, err := os.Stat(full); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return full, nil
		}
	}
	return "", fmt.Errorf("%q: no such executable in PATH %q", name, pathVar)
}

// exitHow is how a process ended.
type exitHow struct {
	code   int
	signal syscall.Signal
	err    error // it could not be waited for
}

func (h exitHow) success() bool { return h.code == 0 && h.signal == 0 && h.err == nil }

// howFromWait reads how a process ended from its exec.Cmd's Wait.
func howFromWait(waitErr error) exitHow {
	var exit *exec.ExitError
	switch {
	case waitErr == nil:
		return exitHow{}
	case errors.As(waitErr, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitHow{signal: ws.Signal()}
		}
		return exitHow{code: exit.ExitCode()}
	}
	return exitHow{err: waitErr}
}

// howFromSandbox reads how a sandboxed command ended from its init's status; without one
// (the init was killed), from how the init ended.
func howFromSandbox(st sandbox.Status, ok bool, waitErr error) exitHow {
	if !ok {
		h := howFromWait(waitErr)
		if h.success() {
			h.err = errors.New("the sandbox init ended without a word")
		}
		return h
	}
	return exitHow{code: st.Exit, signal: syscall.Signal(st.Signal)}
}

// processFailure describes a process that did not exit 0: the end of its stderr, or, when
// it wrote nothing there, how it ended.
func processFailure(how exitHow, stderrTail *logTail) error {
	text, dropped := stderrTail.tail(stderrTailLimit)
	if text = strings.TrimSpace(text); text != "" {
		if dropped {
			text = "…" + text
		}
		return errors.New(text)
	}
	switch {
	case how.err != nil:
		return fmt.Errorf("the process failed: %v", how.err)
	case how.signal != 0:
		return fmt.Errorf("the process was ended by signal %d (%s)", int(how.signal), how.signal)
	}
	return fmt.Errorf("the process exited with code %d", how.code)
}

// readOutputFile reads the output arguments a process wrote to JOBGATE_OUTPUT. No file, or
// an empty one, means none.
// With owner ≥ 0 (a sandboxed job), only a regular file of that uid is read.
func readOutputFile(path string, owner int64) (map[string]any, error) {
	var f *os.File
	var err error
	if owner >= 0 {
		f, err = openOutputFile(path, uint32(owner))
	} else {
		f, err = os.Open(path)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("could not read the output file: %v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxOutputFile+1))
	if err != nil {
		return nil, fmt.Errorf("could not read the output file: %v", err)
	}
	if len(data) > maxOutputFile {
		return nil, fmt.Errorf("output file is larger than %d MiB", maxOutputFile>>20)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("output file is not a JSON object: %v", err)
	}
	out, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("output file is not a JSON object: it holds %s", jobs.JSONKind(v))
	}
	return out, nil
}
