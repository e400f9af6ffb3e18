package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildJobgate builds ./cmd/jobgate into a temporary directory and returns the binary's path.
func buildJobgate(t testing.TB) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is not in PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "jobgate")
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/jobgate")
	cmd.Dir = ".." // the module root: go test runs in ./bench
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/jobgate: %v\n%s", err, out)
	}
	return bin
}

// jobgate is one `jobgate serve` child process.
type jobgate struct {
	URL    string // e.g. http://127.0.0.1:41234
	cmd    *exec.Cmd
	stderr *tailBuffer
	exited chan struct{}
	once   sync.Once
}

var listeningLine = regexp.MustCompile(`msg="jobgate listening" url=(http://[0-9.:]+)`)

// benchLimits lifts the server's limits out of the measurements' way: the harness holds
// 10,000 calls and queues 20,000 jobs from one address and one tenant. The quotas stay on
// (very high), so the counters inside the store's scripts still run and are measured.
func benchLimits(t testing.TB) []string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "limits.yaml")
	const yaml = "tenants:\n  - org: default\n    tenant: default\n    settings: {maxPendingJobs: 100000000, maxHeldCalls: 100000000}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"--config", cfg, "--max-conns", "0", "--max-conns-per-address", "0"}
}

// startJobgate runs `bin serve --dev --listen 127.0.0.1:0 args…` and waits until it listens.
// The process is stopped (SIGTERM, then SIGKILL) when the test ends or Stop is called.
func startJobgate(t testing.TB, bin string, args ...string) *jobgate {
	t.Helper()
	full := append([]string{"serve", "--dev", "--listen", "127.0.0.1:0", "--log-level", "info"}, benchLimits(t)...)
	full = append(full, args...)
	j := &jobgate{stderr: &tailBuffer{max: 256 << 10}, exited: make(chan struct{})}
	j.cmd = exec.Command(bin, full...)
	j.cmd.Stdout = io.Discard
	j.cmd.Stderr = j.stderr
	// Only what the server needs: no JOBGATE_* variable of the caller's shell leaks in.
	j.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if err := j.cmd.Start(); err != nil {
		t.Fatalf("start jobgate: %v", err)
	}
	go func() { _ = j.cmd.Wait(); close(j.exited) }()
	t.Cleanup(j.Stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listeningLine.FindStringSubmatch(j.stderr.String()); m != nil {
			j.URL = m[1]
			return j
		}
		select {
		case <-j.exited:
			t.Fatalf("jobgate %s exited before listening:\n%s", strings.Join(args, " "), j.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobgate did not listen within 30s:\n%s", j.stderr.String())
		}
	}
}

// Stop asks the server to drain (SIGTERM) and kills it when it has not exited after 40s.
func (j *jobgate) Stop() {
	j.once.Do(func() {
		_ = j.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-j.exited:
		case <-time.After(40 * time.Second):
			_ = j.cmd.Process.Kill()
			<-j.exited
		}
	})
}

// LogTail returns the last n lines the server logged, with "(none)" when there are none.
func (j *jobgate) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(j.stderr.String(), "\n"), "\n")
	lines = lines[max(len(lines)-n, 0):]
	if len(lines) == 0 || lines[0] == "" {
		return "(none)"
	}
	return strings.Join(lines, "\n")
}

// PID returns the server's process id.
func (j *jobgate) PID() int { return j.cmd.Process.Pid }

// RSS returns the server's resident set size in bytes (VmRSS of /proc/PID/status).
func (j *jobgate) RSS() (int64, error) { return processRSS(j.PID()) }

func processRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fields := strings.Fields(rest) // "12345 kB"
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// Tenant returns the URL of path under tenant default/default.
func (j *jobgate) Tenant(path string) string { return j.URL + "/default/default/orchestrator_" + path }

// metricsClient reads /metrics and the Jobs API on connections of its own, so that it is
// never queued behind the load.
var metricsClient = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}

// Metric returns the sum of the Prometheus samples named name whose labels contain every
// given `key="value"` pair.
func (j *jobgate) Metric(ctx context.Context, name string, labels ...string) (float64, error) {
	body, err := j.Metrics(ctx)
	if err != nil {
		return 0, err
	}
	return sumSamples(body, name, labels...), nil
}

// Metrics returns the text of /metrics.
func (j *jobgate) Metrics(ctx context.Context) ([]byte, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, j.URL+"/metrics", nil)
	resp, err := metricsClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: status %d", resp.StatusCode)
	}
	return io.ReadAll(resp.Body)
}

// goRuntime is what the server's Go collector reports at one moment.
type goRuntime struct {
	Goroutines   float64
	HeapInuse    float64 // bytes
	StackInuse   float64 // bytes
	HeldRequests float64
	Parked       float64 // held requests whose connection is parked (jobgate_parked_requests)
	RSS          int64   // bytes (VmRSS)
}

// Runtime reads the server's goroutines, heap and stack in use, held requests and RSS.
func (j *jobgate) Runtime(ctx context.Context) (goRuntime, error) {
	body, err := j.Metrics(ctx)
	if err != nil {
		return goRuntime{}, err
	}
	rss, err := j.RSS()
	if err != nil {
		return goRuntime{}, err
	}
	return goRuntime{
		Goroutines:   sumSamples(body, "go_goroutines"),
		HeapInuse:    sumSamples(body, "go_memstats_heap_inuse_bytes"),
		StackInuse:   sumSamples(body, "go_memstats_stack_inuse_bytes"),
		HeldRequests: sumSamples(body, "jobgate_held_requests"),
		Parked:       sumSamples(body, "jobgate_parked_requests"),
		RSS:          rss,
	}, nil
}

// sumSamples adds up the samples of the Prometheus text exposition body named name whose
// label set contains every one of labels.
func sumSamples(body []byte, name string, labels ...string) float64 {
	var sum float64
	for _, line := range bytes.Split(body, []byte("\n")) {
		s := string(line)
		if !strings.HasPrefix(s, name) || len(s) == len(name) || (s[len(name)] != ' ' && s[len(name)] != '{') {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(s, l) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		if v, err := strconv.ParseFloat(s[strings.LastIndexByte(s, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// tailBuffer keeps the last max bytes written to it; safe for one writer and many readers.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max/2:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat (100 on Linux).
const clockTicks = 100

// processCPU returns the CPU time (user + system) process pid has used so far.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after it start past its ')'.
	rest := string(b[bytes.LastIndexByte(b, ')')+2:])
	f := strings.Fields(rest) // f[0] is field 3 (state); utime is field 14, stime 15
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
