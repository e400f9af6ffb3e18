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
// lines on stdout are reported. The process runs in a process group of its own, and the
// whole group is killed before runCommand returns, so nothing the job started outlives it.
//
// A SoftStop (ctx cancelled with errSoftStop) sends SIGTERM to the group and SIGKILL after
// StopGrace, or at once when the run's kill channel closes; any other cancellation, and the
// process's timeout, send SIGKILL at once. It returns the cancellation's cause when the run
// was cancelled, and otherwise an error whose text is the job's Info when the process failed.
func (p *Pool) runCommand(ctx context.Context, job *jobs.Job, proc *jobs.Process, r *activeRun) (map[string]any, error) {
	if ctx.Err() != nil {
		return nil, context.Cause(ctx) // stopped before it started
	}
	dir, err := os.MkdirTemp("", "jobgate-job-")
	if err != nil {
		return nil, fmt.Errorf("could not make the job's temporary directory: %v", err)
	}
	defer os.RemoveAll(dir)

	input := job.InputArguments
	if input == nil {
		input = map[string]any{}
	}
	inputJSON, err := json.Marshal(input)
	if err != nil {
		return nil, fmt.Errorf("could not encode the input arguments: %v", err)
	}
	// stdin is a file, not a pipe: a process that never reads it cannot block the robot.
	stdinPath := filepath.Join(dir, "input.json")
	if err := os.WriteFile(stdinPath, inputJSON, 0o600); err != nil {
		return nil, fmt.Errorf("could not write the input arguments: %v", err)
	}
	stdin, err := os.Open(stdinPath)
	if err != nil {
		return nil, fmt.Errorf("could not open the input arguments: %v", err)
	}
	defer stdin.Close()
	outputPath := filepath.Join(dir, "output.json")

	env := p.commandEnv(job, proc, inputJSON, outputPath)
	path, err := lookCommand(proc.Command[0], env)
	if err != nil {
		return nil, fmt.Errorf("could not start the process: %v", err)
	}
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
	cmd := &exec.Cmd{
		Path:        path,
		Args:        proc.Command,
		Env:         env,
		Dir:         proc.WorkingDir,
		Stdin:       stdin,
		Stdout:      outW,
		Stderr:      errW,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("could not start the process: %v", err)
	}
	pgid := cmd.Process.Pid // Setpgid with Pgid 0: the group is named after the process

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
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var timeout <-chan time.Time
	if proc.Timeout > 0 {
		t := time.NewTimer(proc.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var ended, waitErr error // ended: why jobgate ended the process, if it did
	select {
	case waitErr = <-exited:
	case <-timeout:
		signalGroup(pgid, syscall.SIGKILL)
		waitErr = <-exited
		ended = fmt.Errorf("the process timed out after %s", proc.Timeout)
	case <-ctx.Done():
		ended = context.Cause(ctx)
		if errors.Is(ended, errSoftStop) {
			signalGroup(pgid, syscall.SIGTERM)
			grace := time.NewTimer(p.cfg.StopGrace)
			select {
			case waitErr = <-exited:
			case <-grace.C:
				signalGroup(pgid, syscall.SIGKILL)
				waitErr = <-exited
			case <-r.kill:
				signalGroup(pgid, syscall.SIGKILL)
				waitErr = <-exited
			}
			grace.Stop()
		} else {
			signalGroup(pgid, syscall.SIGKILL)
			waitErr = <-exited
		}
	}
	// Whatever the process left running in its group (background children) ends with it.
	if !endGroup(pgid, groupGoneWait) {
		p.cfg.Logger.Warn("robot: processes of a finished job are still alive after SIGKILL", "job", job.Key, "pgid", pgid)
	}
	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(pipesDrainWait):
		// A process outside the group holds the pipes: stop reading what it writes.
		outR.Close()
		errR.Close()
		<-drained
	}
	outR.Close()
	errR.Close()

	if ended != nil {
		return nil, ended
	}
	if waitErr != nil {
		return nil, processFailure(waitErr, stderrTail)
	}
	return readOutputFile(outputPath)
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

// processFailure describes a process that did not exit 0: the end of its stderr, or, when
// it wrote nothing there, how it ended.
func processFailure(waitErr error, stderrTail *logTail) error {
	text, dropped := stderrTail.tail(stderrTailLimit)
	if text = strings.TrimSpace(text); text != "" {
		if dropped {
			text = "…" + text
		}
		return errors.New(text)
	}
	var exit *exec.ExitError
	if errors.As(waitErr, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Errorf("the process was ended by signal %d (%s)", ws.Signal(), ws.Signal())
		}
		return fmt.Errorf("the process exited with code %d", exit.ExitCode())
	}
	return fmt.Errorf("the process failed: %v", waitErr)
}

// readOutputFile reads the output arguments a process wrote to JOBGATE_OUTPUT. No file, or
// an empty one, means none.
func readOutputFile(path string) (map[string]any, error) {
	f, err := os.Open(path)
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
