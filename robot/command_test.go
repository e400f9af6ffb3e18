package robot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/memstore"
	"github.com/jobgate/jobgate/robot"
)

// The command executor, driven through a real Pool on a memstore, running real child
// processes (/bin/sh scripts written to the test's directory).

var tenant = jobs.Tenant{Org: "acme", Tenant: "prod"}

// rig is a running Pool with one process, "Cmd", and its store.
type rig struct {
	t     testing.TB
	store jobs.Store
	proc  jobs.Process
}

// setup starts a Pool that runs proc (named "Cmd" unless it has a name) with cfg's options,
// on cfg.Store if set, else on a new memstore. Command processes run in the sandbox (unless
// cfg.Sandbox is set), without private temporary directories, so that the test can share
// directories made by sharedDir with them.
func setup(t testing.TB, proc jobs.Process, cfg robot.Config) *rig {
	t.Helper()
	if cfg.Sandbox == nil {
		sb := testSandbox(t)
		sb.PrivateDirs = []string{}
		cfg.Sandbox = &sb
	}
	return setupPool(t, proc, cfg)
}

// setupUnsandboxed is setup with command processes run as children of the server (the
// executor of --sandbox off).
func setupUnsandboxed(t testing.TB, proc jobs.Process, cfg robot.Config) *rig {
	t.Helper()
	return setupPool(t, proc, cfg)
}

func setupPool(t testing.TB, proc jobs.Process, cfg robot.Config) *rig {
	t.Helper()
	if proc.Name == "" {
		proc.Name = "Cmd"
	}
	if cfg.Store == nil {
		cfg.Store = memstore.New(memstore.Config{})
	}
	store := cfg.Store
	if cfg.Lookup == nil {
		cfg.Lookup = func(tn jobs.Tenant, name string) (jobs.Process, error) {
			if tn != tenant || !strings.EqualFold(name, proc.Name) {
				return jobs.Process{}, jobs.Errorf(jobs.ENOTFOUND, "no process %q", name)
			}
			return proc, nil
		}
	}
	if cfg.Slots == 0 {
		cfg.Slots = 2
	}
	if cfg.Lease == 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = time.Second
	}
	if cfg.IdleCheck == 0 {
		cfg.IdleCheck = 100 * time.Millisecond
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	pool := robot.NewPool(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pool.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		store.Close()
	})
	return &rig{t: t, store: store, proc: proc}
}

// script writes a /bin/sh script into a new directory and returns the argv that runs it.
func script(t *testing.T, body string) []string {
	t.Helper()
	path := filepath.Join(sharedDir(t), "job.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"/bin/sh", path}
}

// start creates a job of the rig's process with the given input.
func (r *rig) start(input map[string]any) jobs.Job {
	r.t.Helper()
	return r.create(jobs.CreateRequest{Job: jobs.Job{InputArguments: input}})
}

func (r *rig) create(req jobs.CreateRequest) jobs.Job {
	r.t.Helper()
	req.Job.Org, req.Job.Tenant = tenant.Org, tenant.Tenant
	req.Job.ProcessName, req.Job.ReleaseName = r.proc.Name, r.proc.Name
	req.Job.SourceType, req.Job.CallMode = jobs.SourceTypeManual, jobs.AsyncRequestReply
	job, _, err := r.store.Create(context.Background(), req)
	if err != nil {
		r.t.Fatal(err)
	}
	return job
}

// get returns the job as stored now.
func (r *rig) get(key string) jobs.Job {
	r.t.Helper()
	job, err := r.store.Get(context.Background(), tenant, key)
	if err != nil {
		r.t.Fatal(err)
	}
	return job
}

// waitFinal waits until the job is final and returns it.
func (r *rig) waitFinal(key string) jobs.Job {
	r.t.Helper()
	var job jobs.Job
	waitFor(r.t, "the job to end", 30*time.Second, func() bool {
		job = r.get(key)
		return job.State.Final()
	})
	return job
}

// run starts a job and waits for its end.
func (r *rig) run(input map[string]any) jobs.Job {
	r.t.Helper()
	return r.waitFinal(r.start(input).Key)
}

// stop asks for the job to stop.
func (r *rig) stop(key string, s jobs.StopStrategy) {
	r.t.Helper()
	if _, err := r.store.Stop(context.Background(), tenant, key, s); err != nil {
		r.t.Fatal(err)
	}
}

// log returns the job's stored log.
func (r *rig) log(key string) string {
	r.t.Helper()
	log, err := r.store.Log(context.Background(), tenant, key)
	if err != nil {
		r.t.Fatal(err)
	}
	return log
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFile waits until the script created the file (e.g. after installing its traps).
func waitFile(t *testing.T, path string) {
	t.Helper()
	waitFor(t, path, 20*time.Second, func() bool { _, err := os.Stat(path); return err == nil })
}

// readPid reads a pid a script wrote to a file.
func readPid(t *testing.T, path string) int {
	t.Helper()
	waitFile(t, path)
	var pid int
	waitFor(t, "a pid in "+path, 5*time.Second, func() bool {
		data, _ := os.ReadFile(path)
		var err error
		pid, err = strconv.Atoi(strings.TrimSpace(string(data)))
		return err == nil
	})
	return pid
}

// processGone reports whether pid no longer runs. A zombie (killed, not reaped by its
// parent; an init that does not reap orphans leaves them so) counts as gone.
func processGone(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

func wantGone(t *testing.T, what string, pid int) {
	t.Helper()
	waitFor(t, what+fmt.Sprintf(" (pid %d) to be gone", pid), 5*time.Second, func() bool { return processGone(pid) })
}

func wantState(t *testing.T, job jobs.Job, state jobs.State, info string) {
	t.Helper()
	if job.State != state || job.Info != info {
		t.Fatalf("job ended %s with Info %q, want %s with Info %q", job.State, job.Info, state, info)
	}
}

// asJSON normalises a value through JSON, for comparisons.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestCommand_SucceedsWithTheOutputFileAsItsOutputArguments(t *testing.T) {
	t.Parallel()
	r := setup(t, jobs.Process{Command: script(t, `
echo "output goes to $JOBGATE_OUTPUT"
printf '{"sum": 5, "process": "%s", "nested": {"ok": true}}' "$JOBGATE_PROCESS" > "$JOBGATE_OUTPUT"
`)}, robot.Config{})
	job := r.run(nil)
	wantState(t, job, jobs.Successful, "")
	if got, want := asJSON(t, job.OutputArguments), `{"nested":{"ok":true},"process":"Cmd","sum":5}`; got != want {
		t.Errorf("output = %s, want %s", got, want)
	}
	// The per-job directory holding the output file is removed afterwards.
	log := r.log(job.Key)
	path, ok := strings.CutPrefix(strings.TrimSpace(log), "output goes to ")
	if !ok || !filepath.IsAbs(path) {
		t.Fatalf("log = %q", log)
	}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Errorf("the job's directory %s is still there: %v", filepath.Dir(path), err)
	}
}

func TestCommand_NoOrEmptyOutputFileMeansNoOutputArguments(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"no file":         `exit 0`,
		"empty file":      `: > "$JOBGATE_OUTPUT"`,
		"whitespace only": `printf '  \n' > "$JOBGATE_OUTPUT"`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			job := setup(t, jobs.Process{Command: script(t, body)}, robot.Config{}).run(nil)
			wantState(t, job, jobs.Successful, "")
			if len(job.OutputArguments) != 0 {
				t.Errorf("output = %v, want none", job.OutputArguments)
			}
		})
	}
}

func TestCommand_InvalidOutputFileFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, wantInfo string
	}{
		{"array", `echo '[1, 2]' > "$JOBGATE_OUTPUT"`, "output file is not a JSON object: it holds an array"},
		{"string", `echo '"done"' > "$JOBGATE_OUTPUT"`, "output file is not a JSON object: it holds a string"},
		{"null", `echo 'null' > "$JOBGATE_OUTPUT"`, "output file is not a JSON object: it holds null"},
		{"truncated", `printf '{"a": ' > "$JOBGATE_OUTPUT"`, "output file is not a JSON object: unexpected end of JSON input"},
		{"not JSON", `echo 'sum=5' > "$JOBGATE_OUTPUT"`, "output file is not a JSON object: invalid character 's' looking for beginning of value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := setup(t, jobs.Process{Command: script(t, tc.body)}, robot.Config{}).run(nil)
			wantState(t, job, jobs.Faulted, tc.wantInfo)
		})
	}
}

func TestCommand_InputArrivesOnStdinAndInJOBGATE_INPUT(t *testing.T) {
	t.Parallel()
	out := sharedDir(t)
	r := setup(t, jobs.Process{
		Command: script(t, `cat > "$OUT/stdin.json"; printf '%s' "$JOBGATE_INPUT" > "$OUT/env.json"`),
		Env:     map[string]string{"OUT": out},
	}, robot.Config{})
	input := map[string]any{"name": "Ada", "count": int64(3), "ratio": 0.5, "ok": true,
		"tags": []any{"a", "b"}, "opts": map[string]any{"deep": map[string]any{"x": 1.0}}, "quote": `it's "quoted"` + "\n"}
	wantState(t, r.run(input), jobs.Successful, "")
	for _, f := range []string{"stdin.json", "env.json"} {
		data, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("%s is not JSON: %v\n%s", f, err, data)
		}
		if asJSON(t, got) != asJSON(t, input) {
			t.Errorf("%s = %s, want %s", f, asJSON(t, got), asJSON(t, input))
		}
	}
}

func TestCommand_NoInputIsAnEmptyObject(t *testing.T) {
	t.Parallel()
	out := sharedDir(t)
	r := setup(t, jobs.Process{
		Command: script(t, `cat > "$OUT/stdin.json"; printf '%s' "$JOBGATE_INPUT" > "$OUT/env.json"`),
		Env:     map[string]string{"OUT": out},
	}, robot.Config{})
	wantState(t, r.run(nil), jobs.Successful, "")
	for _, f := range []string{"stdin.json", "env.json"} {
		if data, _ := os.ReadFile(filepath.Join(out, f)); string(data) != "{}" {
			t.Errorf("%s = %q, want {}", f, data)
		}
	}
}

func TestCommand_InputTooLargeForTheEnvironmentArrivesOnStdinOnly(t *testing.T) {
	t.Parallel()
	out := sharedDir(t)
	r := setup(t, jobs.Process{
		Command: script(t, `cat > "$OUT/stdin.json"; printf '%s' "${JOBGATE_INPUT-unset}" > "$OUT/env.txt"`),
		Env:     map[string]string{"OUT": out},
	}, robot.Config{})
	input := map[string]any{"blob": strings.Repeat("x", 200<<10)}
	wantState(t, r.run(input), jobs.Successful, "")
	if data, _ := os.ReadFile(filepath.Join(out, "stdin.json")); string(data) != asJSON(t, input) {
		t.Errorf("stdin holds %d bytes, want the %d-byte input", len(data), len(asJSON(t, input)))
	}
	if data, _ := os.ReadFile(filepath.Join(out, "env.txt")); string(data) != "unset" {
		t.Errorf("JOBGATE_INPUT holds %d bytes, want it unset", len(data))
	}
}

func TestCommand_InputNeverBecomesArgvOrShellText(t *testing.T) {
	t.Parallel()
	dir := sharedDir(t)
	r := setup(t, jobs.Process{
		// The script uses its input only as data: it prints its argv.
		Command:    append(script(t, `for a in "$@"; do printf '%s\n' "$a"; done > argv.txt`), "--fixed", "two words"),
		WorkingDir: dir,
	}, robot.Config{})
	evil := map[string]any{"name": "$(touch pwned-subst)", "x": "`touch pwned-tick`", "y": "; touch pwned-semi", "--fixed": "--evil"}
	wantState(t, r.run(evil), jobs.Successful, "")
	data, err := os.ReadFile(filepath.Join(dir, "argv.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "--fixed\ntwo words\n" {
		t.Errorf("argv = %q, want exactly the declared command", data)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "pwned") {
			t.Errorf("input was run as shell text: %s exists", e.Name())
		}
	}
}

// Not parallel: it sets the test process's own environment.
func TestCommand_EnvironmentHasDeclaredAndJobVariablesButNoServerSecrets(t *testing.T) {
	t.Setenv("JOBGATE_JWT_SECRET", "server-secret-never-in-a-child")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "another-server-secret")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("TZ", "Europe/Paris")
	r := setup(t, jobs.Process{
		Command: []string{"env"}, // a bare name, found in PATH; its output is the job's log
		Env:     map[string]string{"REGION": "eu", "TZ": "UTC"},
	}, robot.Config{})
	job := r.run(map[string]any{"a": 1.0})
	wantState(t, job, jobs.Successful, "")
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.log(job.Key)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	want := map[string]string{
		"PATH": os.Getenv("PATH"), "LANG": "C.UTF-8",
		"REGION": "eu", "TZ": "UTC", // declared env wins over the inherited
		"JOBGATE_JOB_KEY": job.Key, "JOBGATE_JOB_ID": strconv.FormatInt(job.ID, 10),
		"JOBGATE_PROCESS": "Cmd", "JOBGATE_INPUT": `{"a":1}`,
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if !strings.HasSuffix(env["JOBGATE_OUTPUT"], "output.json") {
		t.Errorf("JOBGATE_OUTPUT = %q", env["JOBGATE_OUTPUT"])
	}
	allowed := map[string]bool{"PATH": true, "HOME": true, "LANG": true, "TZ": true, "TMPDIR": true, "REGION": true,
		"JOBGATE_JOB_KEY": true, "JOBGATE_JOB_ID": true, "JOBGATE_PROCESS": true, "JOBGATE_INPUT": true, "JOBGATE_OUTPUT": true}
	for k, v := range env {
		if !allowed[k] {
			t.Errorf("the child got %s=%q from the server", k, v)
		}
		if strings.Contains(v, "secret") {
			t.Errorf("a server secret reached the child: %s=%q", k, v)
		}
	}
}

// Not parallel: it runs an executable the test has just written, which a fork in another
// test could still hold open for writing (ETXTBSY).
func TestCommand_RunsInItsWorkingDirWithARelativeCommand(t *testing.T) {
	dir := sharedDir(t)
	if err := os.WriteFile(filepath.Join(dir, "report.sh"), []byte("#!/bin/sh\nprintf '{\"dir\": \"%s\", \"arg\": \"%s\"}' \"$(pwd -P)\" \"$1\" > \"$JOBGATE_OUTPUT\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := setup(t, jobs.Process{Command: []string{"./report.sh", "--fast"}, WorkingDir: dir}, robot.Config{})
	job := r.run(nil)
	wantState(t, job, jobs.Successful, "")
	real, _ := filepath.EvalSymlinks(dir)
	if job.OutputArguments["dir"] != real || job.OutputArguments["arg"] != "--fast" {
		t.Errorf("output = %v, want dir %s and arg --fast", job.OutputArguments, real)
	}
}

func TestCommand_StartFailuresFault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		proc jobs.Process
		want string
	}{
		{"missing program", jobs.Process{Command: []string{"/nonexistent/report"}}, "could not start the process: "},
		{"not in PATH", jobs.Process{Command: []string{"no-such-program-jobgate"}}, `could not start the process: "no-such-program-jobgate": no such executable in PATH`},
		{"missing working dir", jobs.Process{Command: []string{"/bin/sh", "-c", "exit 0"}, WorkingDir: "/nonexistent/dir"}, "could not start the process: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := setup(t, tc.proc, robot.Config{}).run(nil)
			if job.State != jobs.Faulted || !strings.HasPrefix(job.Info, tc.want) {
				t.Errorf("job ended %s with Info %q, want Faulted with Info starting %q", job.State, job.Info, tc.want)
			}
		})
	}
}

func TestCommand_FailureFaultsWithTheEndOfStderr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		wantInfo   func(string) bool
		describe   string
	}{
		{"exit 3 with stderr", `
echo "working on it"
i=0; while [ $i -lt 300 ]; do echo "noise line $i of the failure" >&2; i=$((i+1)); done
echo "fatal: the report could not be built" >&2
exit 3`, func(info string) bool {
			return strings.HasPrefix(info, "…") && strings.HasSuffix(info, "noise line 299 of the failure\nfatal: the report could not be built") &&
				len(info) <= 4<<10+len("…") && !strings.Contains(info, "working on it")
		}, "the last 4 KiB of stderr, trimmed"},
		{"exit 7 silently", `echo "only stdout"; exit 7`, func(info string) bool {
			return info == "the process exited with code 7"
		}, "the exit code"},
		{"killed by a signal", `kill -KILL $$`, func(info string) bool {
			return info == "the process was ended by signal 9 (killed)"
		}, "the signal"},
		{"short stderr", `echo '  disk full  ' >&2; exit 1`, func(info string) bool {
			return info == "disk full"
		}, "stderr, trimmed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := setup(t, jobs.Process{Command: script(t, tc.body)}, robot.Config{})
			job := r.run(nil)
			if job.State != jobs.Faulted || !tc.wantInfo(job.Info) {
				t.Errorf("job ended %s with Info %q, want Faulted with %s", job.State, job.Info, tc.describe)
			}
		})
	}
}

func TestCommand_StdoutAndStderrAreTheJobsLog(t *testing.T) {
	t.Parallel()
	r := setup(t, jobs.Process{Command: script(t, `echo "to stdout"; sleep 0.1; echo "to stderr" >&2; sleep 0.1; echo "stdout again"`)}, robot.Config{})
	job := r.run(nil)
	wantState(t, job, jobs.Successful, "")
	if got := r.log(job.Key); got != "to stdout\nto stderr\nstdout again\n" {
		t.Errorf("log = %q", got)
	}
}

func TestCommand_LogIsStoredWhileTheJobRuns(t *testing.T) {
	t.Parallel()
	dir := sharedDir(t)
	r := setup(t, jobs.Process{
		Command: script(t, `echo "first line"; touch "$DIR/ready"; while [ ! -e "$DIR/go" ]; do sleep 0.05; done; echo "last line"`),
		Env:     map[string]string{"DIR": dir},
	}, robot.Config{LogInterval: 100 * time.Millisecond})
	job := r.start(nil)
	waitFile(t, filepath.Join(dir, "ready"))
	waitFor(t, "the log of the running job", 10*time.Second, func() bool { return r.log(job.Key) == "first line\n" })
	if st := r.get(job.Key).State; st != jobs.Running {
		t.Fatalf("job is %s, want Running", st)
	}
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o600)
	wantState(t, r.waitFinal(job.Key), jobs.Successful, "")
	if got := r.log(job.Key); got != "first line\nlast line\n" {
		t.Errorf("final log = %q", got)
	}
}

func TestCommand_LogKeepsOnlyTheLastMiBOfOutput(t *testing.T) {
	t.Parallel()
	// About 4 MiB of output, then a last line; the default limit is 1 MiB.
	r := setup(t, jobs.Process{Command: script(t, `yes "a line of some output that goes on" | head -n 120000; echo "the very last line"`)}, robot.Config{})
	job := r.run(nil)
	wantState(t, job, jobs.Successful, "")
	log := r.log(job.Key)
	if len(log) > 1<<20 || len(log) < 1<<20-64 {
		t.Errorf("log is %d bytes, want just under 1 MiB (%d)", len(log), 1<<20)
	}
	if !strings.HasPrefix(log, "[… earlier output dropped …]\n") || !strings.HasSuffix(log, "goes on\nthe very last line\n") {
		t.Errorf("log = %q … %q", log[:min(len(log), 80)], log[max(0, len(log)-80):])
	}
}

func TestCommand_ProgressLinesSetTheJobsProgressWhileItRuns(t *testing.T) {
	t.Parallel()
	dir := sharedDir(t)
	r := setup(t, jobs.Process{
		Command: script(t, `
wait_for() { while [ ! -e "$DIR/$1" ]; do sleep 0.02; done; }
echo "::progress 10 starting"
echo "::progress 42 halfway there"
wait_for go1
echo "::progress 250   clamped to 100  "
wait_for go2
echo "::progress nope not a number"
echo "::progressive 7 not a progress line"
echo "  ::progress 7 indented"
echo "::progress -5"
wait_for go3
`),
		Env: map[string]string{"DIR": dir},
	}, robot.Config{Lease: time.Minute}) // renewals every 20s: progress must not wait for them
	job := r.start(nil)
	wantProgress := func(want jobs.Progress) {
		t.Helper()
		waitFor(t, fmt.Sprintf("progress %+v", want), 10*time.Second, func() bool {
			j := r.get(job.Key)
			return j.State == jobs.Running && j.Progress != nil && *j.Progress == want
		})
	}
	wantProgress(jobs.Progress{Percent: 42, Message: "halfway there"})
	os.WriteFile(filepath.Join(dir, "go1"), nil, 0o600)
	wantProgress(jobs.Progress{Percent: 100, Message: "clamped to 100"})
	os.WriteFile(filepath.Join(dir, "go2"), nil, 0o600)
	// Malformed lines are only output; the last good line (-5, clamped) counts.
	wantProgress(jobs.Progress{Percent: 0})
	os.WriteFile(filepath.Join(dir, "go3"), nil, 0o600)
	job = r.waitFinal(job.Key)
	wantState(t, job, jobs.Successful, "")
	if log := r.log(job.Key); !strings.Contains(log, "::progress nope not a number\n") || !strings.Contains(log, "::progress 42 halfway there\n") {
		t.Errorf("log lacks the progress lines: %q", log)
	}
}

// Unsandboxed (--sandbox off): the pids the script writes are the host's. sandbox_test.go
// covers the same under the sandbox.
func TestCommand_TimeoutKillsTheProcessGroupAndFaults(t *testing.T) {
	t.Parallel()
	dir := sharedDir(t)
	r := setupUnsandboxed(t, jobs.Process{
		Command: script(t, `trap '' TERM; sleep 1000 & echo $! > "$DIR/grandchild"; sleep 1000`),
		Env:     map[string]string{"DIR": dir},
		Timeout: 500 * time.Millisecond,
	}, robot.Config{})
	start := time.Now()
	job := r.run(nil)
	wantState(t, job, jobs.Faulted, "the process timed out after 500ms")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the timed-out job took %v to end", took)
	}
	wantGone(t, "the grandchild", readPid(t, filepath.Join(dir, "grandchild")))
}

func TestCommand_DeadlineKillsTheProcessAndFaultsWithItsInfo(t *testing.T) {
	t.Parallel()
	r := setup(t, jobs.Process{Command: script(t, `sleep 1000`)}, robot.Config{})
	job := r.create(jobs.CreateRequest{Job: jobs.Job{DeadlineInfo: "Job exceeded the LongPolling limit of 1s"}, MaxRunTime: time.Second})
	wantState(t, r.waitFinal(job.Key), jobs.Faulted, "Job exceeded the LongPolling limit of 1s")
}

func TestCommand_SoftStopSendsSIGTERMAndTheProcessEndsItself(t *testing.T) {
	t.Parallel()
	dir := sharedDir(t)
	r := setup(t, jobs.Process{
		Command: script(t, `trap 'echo "cleaning up" >&2; touch "$DIR/cleaned"; exit 0' TERM
touch "$DIR/ready"
while :; do sleep 0.05; done`),
		Env: map[string]string{"DIR": dir},
	}, robot.Config{StopGrace: time.Minute})
	job := r.start(nil)
	waitFile(t, filepath.Join(dir, "ready"))
	start := time.Now()
	r.stop(job.Key, jobs.SoftStop)
	job = r.waitFinal(job.Key)
	wantState(t, job, jobs.Stopped, "Stopped on request (SoftStop)")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stopping took %v: the grace period was waited out", took)
	}
	if _, err := os.Stat(filepath.Join(dir, "cleaned")); err != nil {
		t.Errorf("the process did not run its SIGTERM handler: %v", err)
	}
	if log := r.log(job.Key); !strings.Contains(log, "cleaning up") {
		t.Errorf("log = %q", log)
	}
}

// Unsandboxed (--sandbox off): the pids the script writes are the host's. sandbox_test.go
// covers the same under the sandbox.
func TestCommand_SoftStopKillsAProcessIgnoringSIGTERMAfterTheGrace(t *testing.T) {
	t.Parallel()
	dir := sharedDir(t)
	const grace = 700 * time.Millisecond
	r := setupUnsandboxed(t, jobs.Process{
		Command: script(t, `trap '' TERM; echo $$ > "$DIR/pid"; touch "$DIR/ready"; while :; do sleep 0.05; done`),
		Env:     map[string]string{"DIR": dir},
	}, robot.Config{StopGrace: grace})
	job := r.start(nil)
	waitFile(t, filepath.Join(dir, "ready"))
	pid := readPid(t, filepath.Join(dir, "pid"))
	start := time.Now()
	r.stop(job.Key, jobs.SoftStop)
	job = r.waitFinal(job.Key)
	took := time.Since(start)
	wantState(t, job, jobs.Stopped, "Stopped on request (SoftStop)")
	if took < grace || took > grace+10*time.Second {
		t.Errorf("the job ended %v after the SoftStop, want just after the %v grace", took, grace)
	}
	wantGone(t, "the process", pid)
}

// Unsandboxed (--sandbox off): the pids the script writes are the host's. sandbox_test.go
// covers the same under the sandbox.
func TestCommand_KillEndsTheWholeProcessGroupAtOnce(t *testing.T) {
	t.Parallel()
	dir := sharedDir(t)
	r := setupUnsandboxed(t, jobs.Process{
		Command: script(t, `trap '' TERM
echo $$ > "$DIR/pid"
sh -c 'sleep 1000 & echo $! > "$DIR/grandchild"; wait' &
while [ ! -s "$DIR/grandchild" ]; do sleep 0.02; done
touch "$DIR/ready"
wait`),
		Env: map[string]string{"DIR": dir},
	}, robot.Config{StopGrace: time.Minute})
	job := r.start(nil)
	waitFile(t, filepath.Join(dir, "ready"))
	pid, grandchild := readPid(t, filepath.Join(dir, "pid")), readPid(t, filepath.Join(dir, "grandchild"))
	if processGone(grandchild) {
		t.Fatal("the grandchild is not running before the kill")
	}
	start := time.Now()
	r.stop(job.Key, jobs.Kill)
	job = r.waitFinal(job.Key)
	wantState(t, job, jobs.Stopped, "Stopped on request (Kill)")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the kill took %v", took)
	}
	wantGone(t, "the process", pid)
	wantGone(t, "the grandchild", grandchild)
}

func TestCommand_KillAfterSoftStopEndsTheGracePeriod(t *testing.T) {
	t.Parallel()
	dir := sharedDir(t)
	r := setup(t, jobs.Process{
		Command: script(t, `trap '' TERM; touch "$DIR/ready"; while :; do sleep 0.05; done`),
		Env:     map[string]string{"DIR": dir},
	}, robot.Config{StopGrace: time.Minute})
	job := r.start(nil)
	waitFile(t, filepath.Join(dir, "ready"))
	r.stop(job.Key, jobs.SoftStop)
	time.Sleep(300 * time.Millisecond)
	if st := r.get(job.Key).State; st != jobs.Stopping {
		t.Fatalf("job is %s during the grace period, want Stopping", st)
	}
	start := time.Now()
	r.stop(job.Key, jobs.Kill)
	job = r.waitFinal(job.Key)
	wantState(t, job, jobs.Stopped, "Stopped on request (Kill)")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the kill took %v", took)
	}
}

// Unsandboxed (--sandbox off): the pids the script writes are the host's. sandbox_test.go
// covers the same under the sandbox.
func TestCommand_BackgroundProcessesEndWithTheJob(t *testing.T) {
	t.Parallel()
	dir := sharedDir(t)
	r := setupUnsandboxed(t, jobs.Process{
		Command: script(t, `sleep 1000 & echo $! > "$DIR/grandchild"; echo '{"done": true}' > "$JOBGATE_OUTPUT"`),
		Env:     map[string]string{"DIR": dir},
	}, robot.Config{})
	start := time.Now()
	job := r.run(nil)
	wantState(t, job, jobs.Successful, "")
	if !reflect.DeepEqual(job.OutputArguments, map[string]any{"done": true}) {
		t.Errorf("output = %v", job.OutputArguments)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the job took %v: it waited for its background process", took)
	}
	wantGone(t, "the background process", readPid(t, filepath.Join(dir, "grandchild")))
}

func TestRobot_BuiltinsStillRunAndStopNamingTheStrategy(t *testing.T) {
	t.Parallel()
	r := setup(t, jobs.Process{Name: "Add", Builtin: "Args_AddNumbers"}, robot.Config{})
	job := r.run(map[string]any{"x": 2.0, "y": 3.0})
	wantState(t, job, jobs.Successful, "")
	if job.OutputArguments["sum"] != 5.0 {
		t.Errorf("output = %v", job.OutputArguments)
	}
	for _, s := range []jobs.StopStrategy{jobs.SoftStop, jobs.Kill} {
		r := setup(t, jobs.Process{Name: "Forever", Builtin: "RunUntilStoppedManually"}, robot.Config{})
		job := r.start(nil)
		waitFor(t, "the job to run", 10*time.Second, func() bool { return r.get(job.Key).State == jobs.Running })
		// A stop that arrives before the slot registered its run is seen at the next renewal.
		time.Sleep(50 * time.Millisecond)
		r.stop(job.Key, s)
		wantState(t, r.waitFinal(job.Key), jobs.Stopped, "Stopped on request ("+string(s)+")")
	}
}
