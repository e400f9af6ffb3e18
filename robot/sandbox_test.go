package robot_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/robot"
	"github.com/jobgate/jobgate/sandbox"
)

// Command processes under the sandbox of production (private /tmp, /var/tmp, /dev/shm; no
// network but loopback), tried from inside: what a job of an attacker would try.

// setupSandboxed is setup with the sandbox exactly as jobgate serve runs it.
func setupSandboxed(t *testing.T, proc jobs.Process, cfg robot.Config) *rig {
	t.Helper()
	sb := testSandbox(t)
	cfg.Sandbox = &sb
	if cfg.LogInterval == 0 {
		cfg.LogInterval = 50 * time.Millisecond
	}
	return setupPool(t, proc, cfg)
}

// logValue returns the value of the last "name=value" line of a log.
func logValue(log, name string) string {
	v := ""
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+"="); ok {
			v = rest
		}
	}
	return v
}

// waitLogValue waits until the running job's log has a name= line and returns its value.
func (r *rig) waitLogValue(key, name string) string {
	r.t.Helper()
	var v string
	waitFor(r.t, "the job to log "+name+"=", 20*time.Second, func() bool {
		v = logValue(r.log(key), name)
		return v != ""
	})
	return v
}

// processesOf lists the host pids of the live processes whose real uid is uid.
func processesOf(uid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || processGone(pid) {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" && f[1] == strconv.Itoa(uid) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

func TestSandbox_JobCannotSeeOrReachTheServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // stands for Redis on the server's loopback
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	r := setupSandboxed(t, jobs.Process{Command: []string{"/bin/bash", "-c", `
echo "uid=$(id -u)"
if cat /proc/$SERVER/environ >/dev/null 2>&1; then echo "environ=READ"; else echo "environ=refused"; fi
if cat /proc/$SERVER/cmdline >/dev/null 2>&1; then echo "cmdline=READ"; else echo "cmdline=refused"; fi
if kill -0 $SERVER 2>/dev/null; then echo "signal=SENT"; else echo "signal=refused"; fi
if (echo AUTH secret > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then echo "redis=CONNECTED"; else echo "redis=refused"; fi
echo "procs=$(cd /proc && for p in [0-9]*; do tr '\0' ' ' < $p/cmdline 2>/dev/null; echo -n '|'; done)"
`}, Env: map[string]string{"SERVER": strconv.Itoa(os.Getpid()), "PORT": strconv.Itoa(port)}}, robot.Config{})
	job := r.run(nil)
	wantState(t, job, jobs.Successful, "")
	log := r.log(job.Key)
	for name, want := range map[string]string{"environ": "refused", "cmdline": "refused", "signal": "refused", "redis": "refused"} {
		if got := logValue(log, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if uid, _ := strconv.Atoi(logValue(log, "uid")); uid < 200000 || uid > 299999 {
		t.Errorf("the job ran as uid %d, want one of the sandbox range (not 0, not the server's)", uid)
	}
	// /proc shows the job's own namespace only: its init and its own processes.
	procs := strings.Split(strings.TrimSuffix(logValue(log, "procs"), "|"), "|")
	if len(procs) > 4 {
		t.Errorf("the job sees %d processes in /proc, want only its own few", len(procs))
	}
	for _, p := range procs {
		if strings.Contains(p, "robot.test") && !strings.Contains(p, "sandbox-init") {
			t.Errorf("the job sees the server in /proc: %q", p)
		}
	}
	select {
	case <-accepted:
		t.Error("the job connected to a port on the server's loopback")
	default:
	}
}

func TestSandbox_JobCannotReadOrWriteAnotherRunningJobsDirectory(t *testing.T) {
	t.Parallel()
	for name, private := range map[string][]string{"private tmp": nil, "shared tmp, uids only": {}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb := testSandbox(t)
			sb.PrivateDirs = private
			// Two jobs of one process: the victim keeps a secret in its directory; the
			// attacker gets the victim's directory as input.
			r := setupPool(t, jobs.Process{Command: []string{"/bin/sh", "-c", `
dir=$(dirname "$JOBGATE_OUTPUT")
victim=$(printf '%s' "$JOBGATE_INPUT" | sed -n 's/.*"victim":"\([^"]*\)".*/\1/p')
if [ -z "$victim" ]; then
  echo "the secret of the victim" > "$dir/secret.txt"
  echo "dir=$dir"
  exec sleep 1000
fi
if cat "$victim/secret.txt" 2>/dev/null; then echo "read=READ"; else echo "read=refused"; fi
if ls "$victim" >/dev/null 2>&1; then echo "list=LISTED"; else echo "list=refused"; fi
if echo '{"forged": true}' > "$victim/output.json" 2>/dev/null; then echo "write=WROTE"; else echo "write=refused"; fi
`}}, robot.Config{Sandbox: &sb, LogInterval: 50 * time.Millisecond})
			victim := r.start(nil)
			dir := r.waitLogValue(victim.Key, "dir")
			if _, err := os.Stat(dir + "/secret.txt"); err != nil {
				t.Fatalf("the victim's secret is not in its directory %s: %v", dir, err)
			}
			attacker := r.run(map[string]any{"victim": dir})
			wantState(t, attacker, jobs.Successful, "")
			log := r.log(attacker.Key)
			for name, success := range map[string]string{"read": "READ", "list": "LISTED", "write": "WROTE"} {
				if got := logValue(log, name); got == success || strings.Contains(log, "the secret of the victim") {
					t.Errorf("%s = %q: the attacker got into the victim's directory", name, got)
				}
			}
			if _, err := os.Stat(dir + "/output.json"); err == nil {
				t.Errorf("the attacker wrote the victim's output file")
			}
			if st := r.get(victim.Key).State; st != jobs.Running {
				t.Fatalf("the victim is %s, want still Running", st)
			}
			r.stop(victim.Key, jobs.Kill)
			wantState(t, r.waitFinal(victim.Key), jobs.Stopped, "Stopped on request (Kill)")
		})
	}
}

func TestSandbox_KillEndsTheWholeTreeIncludingASetsidGrandchild(t *testing.T) {
	t.Parallel()
	for _, s := range []jobs.StopStrategy{jobs.Kill, jobs.SoftStop} {
		t.Run(string(s), func(t *testing.T) {
			t.Parallel()
			r := setupSandboxed(t, jobs.Process{Command: []string{"/bin/sh", "-c", `
trap '' TERM
setsid sh -c 'trap "" TERM; exec sleep 1000' &
sleep 1000 &
echo "uid=$(id -u)"
wait`}}, robot.Config{StopGrace: 500 * time.Millisecond})
			job := r.start(nil)
			uid, _ := strconv.Atoi(r.waitLogValue(job.Key, "uid"))
			var pids []int
			waitFor(t, "the job's three processes", 10*time.Second, func() bool {
				pids = processesOf(uid)
				return len(pids) >= 3
			})
			setsid := 0
			for _, pid := range pids {
				if data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); len(data) > 0 {
					f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
					if len(f) > 3 && f[3] != strconv.Itoa(pids[0]) && f[2] != f[3] {
						setsid = pid
					}
				}
			}
			r.stop(job.Key, s)
			wantState(t, r.waitFinal(job.Key), jobs.Stopped, "Stopped on request ("+string(s)+")")
			for _, pid := range pids {
				wantGone(t, "a process of the job", pid)
			}
			if left := processesOf(uid); len(left) > 0 {
				t.Errorf("processes of the job's uid %d still run: %v (the setsid one was %d)", uid, left, setsid)
			}
		})
	}
}

func TestSandbox_JobRunsNormallyWithAPrivateTmp(t *testing.T) {
	t.Parallel()
	r := setupSandboxed(t, jobs.Process{Command: []string{"/bin/sh", "-c", `
input=$(cat)
echo "::progress 50 half"
echo "from stderr" >&2
touch /tmp/left-by-a-job-$JOBGATE_JOB_KEY
printf '{"stdin": %s, "home": "%s", "tmp": "%s", "cwd": "%s"}' "$input" "$HOME" "$(ls -A /tmp | grep -v jobgate-jobs | wc -l)" "$(pwd)" > "$JOBGATE_OUTPUT"
`}}, robot.Config{})
	job := r.run(map[string]any{"x": 1.0})
	wantState(t, job, jobs.Successful, "")
	out := job.OutputArguments
	if fmt.Sprint(out["stdin"]) != "map[x:1]" || out["tmp"] != "1" || out["home"] != out["cwd"] || !strings.Contains(fmt.Sprint(out["cwd"]), "jobgate-job-") {
		t.Errorf("output = %v, want the input, a /tmp with only the job's own file, and HOME = the job's directory as working directory", out)
	}
	if job.Progress == nil || job.Progress.Percent != 50 {
		t.Errorf("progress = %+v, want 50", job.Progress)
	}
	if log := r.log(job.Key); !strings.Contains(log, "from stderr") || !strings.Contains(log, "::progress 50 half") {
		t.Errorf("log = %q", log)
	}
	if _, err := os.Stat("/tmp/left-by-a-job-" + job.Key); !os.IsNotExist(err) {
		t.Errorf("a file the job made in its /tmp is in the host's /tmp: %v", err)
	}
}

func TestSandbox_OutputFileLinkingElsewhereIsNotRead(t *testing.T) {
	t.Parallel()
	secret := sharedDir(t) + "/server-secret"
	if err := os.WriteFile(secret, []byte(`{"jwt": "server-secret"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"symlink":   `ln -s "$SECRET" "$JOBGATE_OUTPUT"`,
		"hard link": `ln "$SECRET" "$JOBGATE_OUTPUT" || cp "$SECRET" /dev/null`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb := testSandbox(t)
			sb.PrivateDirs = []string{}
			r := setupPool(t, jobs.Process{Command: []string{"/bin/sh", "-c", body}, Env: map[string]string{"SECRET": secret}},
				robot.Config{Sandbox: &sb})
			job := r.run(nil)
			if job.State == jobs.Successful && len(job.OutputArguments) > 0 {
				t.Errorf("the server read a file the job only linked to: output %v", job.OutputArguments)
			}
		})
	}
}

func TestSandbox_LimitsApplyToTheJob(t *testing.T) {
	t.Parallel()
	script := []string{"/bin/bash", "-c", `echo "files=$(ulimit -n)"; echo "procs=$(ulimit -u)"; echo "cpu=$(ulimit -t)"; echo "mem=$(ulimit -v)"`}
	for name, tc := range map[string]struct {
		limits *jobs.Limits
		want   map[string]string
	}{
		"defaults": {nil, map[string]string{"files": "1024", "procs": "256", "cpu": "3600", "mem": strconv.Itoa(4 << 20)}},
		"declared": {&jobs.Limits{CPUTime: 90 * time.Second, Memory: 3 << 30, OpenFiles: 64, Processes: 16},
			map[string]string{"files": "64", "procs": "16", "cpu": "90", "mem": strconv.Itoa(3 << 20)}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := setupSandboxed(t, jobs.Process{Command: script, Limits: tc.limits}, robot.Config{})
			job := r.run(nil)
			wantState(t, job, jobs.Successful, "")
			log := r.log(job.Key)
			if !sandbox.LimitsAddressSpace { // a -race build: see sandbox/race.go
				tc.want["mem"] = "unlimited"
			}
			for k, want := range tc.want {
				if got := logValue(log, k); got != want {
					t.Errorf("ulimit %s = %q, want %s", k, got, want)
				}
			}
		})
	}
}

func TestSandbox_HostNetworkReachesLoopbackNoneDoesNot(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	probe := []string{"/bin/bash", "-c", `if (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then echo "net=connected"; else echo "net=refused"; fi`}
	for host, want := range map[bool]string{true: "connected", false: "refused"} {
		r := setupSandboxed(t, jobs.Process{Command: probe, Env: map[string]string{"PORT": port}, HostNetwork: host}, robot.Config{})
		job := r.run(nil)
		if got := logValue(r.log(job.Key), "net"); got != want {
			t.Errorf("HostNetwork %v: the job's connection to the server's loopback was %q, want %s", host, got, want)
		}
	}
}
