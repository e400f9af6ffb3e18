package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// End-to-end tests of command processes (docs/configuration.md, "Command processes"):
// a config file declares processes that run real /bin/sh scripts, and the real
// server runs them, on every store.

// commandScripts are the scripts of the test's processes. DIR (declared env) is where they
// and the test exchange files, named after the job's Id.
var commandScripts = map[string]string{
	// Greet echoes its input (from stdin and JOBGATE_INPUT) and its fixed argv.
	"greet.sh": `input=$(cat)
printf '{"greeting": "%s", "stdin": %s, "env": %s, "process": "%s"}' "$2" "$input" "$JOBGATE_INPUT" "$JOBGATE_PROCESS" > "$JOBGATE_OUTPUT"
`,
	// Slow reports progress, then waits for the test's go file.
	"slow.sh": `echo "::progress 30 warming up"
while [ ! -e "$DIR/go-$JOBGATE_JOB_ID" ]; do sleep 0.05; done
echo '{"slow": "done"}' > "$JOBGATE_OUTPUT"
`,
	// Polite ends cleanly on SIGTERM.
	"polite.sh": `trap 'touch "$DIR/term-$JOBGATE_JOB_ID"; exit 0' TERM
touch "$DIR/ready-$JOBGATE_JOB_ID"
while :; do sleep 0.05; done
`,
	// Stubborn ignores SIGTERM and starts a grandchild.
	"stubborn.sh": `trap '' TERM
sleep 1000 &
id -u > "$DIR/uid-$JOBGATE_JOB_ID"
echo $! > "$DIR/grandchild-$JOBGATE_JOB_ID"
touch "$DIR/ready-$JOBGATE_JOB_ID"
wait
`,
	// Broken fails with a message on stderr.
	"broken.sh": `echo "reading the ledger"
echo "ledger.csv: permission denied" >&2
exit 4
`,
}

// commandConfig writes the scripts and a config file declaring them in default/default
// (beside the --dev samples), and returns the config's path and the exchange directory.
func commandConfig(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	// The job's uid (of the sandbox range) reads the scripts and writes here.
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	for name, body := range commandScripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	yaml := fmt.Sprintf(`tenants:
  - org: default
    tenant: default
    processes:
      - key: Greet
        command: ["/bin/sh", "%[1]s/greet.sh", "--greeting", "Hello"]
        env: {DIR: "%[1]s"}
        workingDir: "%[1]s"
        timeout: 1m
        arguments:
          name:  {type: string, required: true}
          count: {type: integer, default: 2}
          shout: {type: boolean, default: false}
      - key: Slow
        command: ["/bin/sh", "%[1]s/slow.sh"]
        env: {DIR: "%[1]s"}
      - key: Polite
        command: ["/bin/sh", "%[1]s/polite.sh"]
        env: {DIR: "%[1]s"}
      - key: Stubborn
        command: ["/bin/sh", "%[1]s/stubborn.sh"]
        env: {DIR: "%[1]s"}
      - key: Broken
        command: ["/bin/sh", "%[1]s/broken.sh"]
    triggers:
      - {slug: greet, process: Greet, method: POST}
      - {slug: greet-get, process: Greet, method: GET, callMode: LongPolling}
      - {slug: slow, process: Slow}
      - {slug: polite, process: Polite}
      - {slug: stubborn, process: Stubborn}
      - {slug: broken, process: Broken, callMode: LongPolling}
`, dir)
	return writeFile(t, "jobgate.yaml", yaml), dir
}

// commandStart invokes slug in AsyncRequestReply mode and returns the job's Id and status URL.
func commandStart(t *testing.T, s *testServer, slug string, body map[string]any) (int, string) {
	t.Helper()
	r := do(t, noFollow, "POST", s.tenantURL("/t/"+slug), token(t), body)
	wantStatus(t, r, http.StatusAccepted)
	return int(r.json(t)["Id"].(float64)), r.Header.Get("Location")
}

// commandWaitFile waits until a script created a file.
func commandWaitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if data, err := os.ReadFile(path); err == nil && (!strings.Contains(filepath.Base(path), "grandchild") || len(bytes.TrimSpace(data)) > 0) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// commandProcessGone reports whether pid no longer runs (a zombie counts as gone).
func commandProcessGone(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

// processesOfUID lists the live processes (zombies excluded) whose real uid is uid.
func processesOfUID(uid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || commandProcessGone(pid) {
			continue
		}
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" && f[1] == strconv.Itoa(uid) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

func commandStop(t *testing.T, s *testServer, id int, strategy string) {
	t.Helper()
	r := do(t, noFollow, "POST", s.tenantURL("/odata/Jobs("+itoa(id)+")/UiPath.Server.Configuration.OData.StopJob"), token(t),
		map[string]any{"strategy": strategy})
	wantStatus(t, r, http.StatusOK)
}

func TestCommandProcess_EndToEnd(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		cfg, dir := commandConfig(t)
		// No private /tmp: the test and the jobs share dir (under the test's /tmp).
		s := start("--config", cfg, "--long-poll-hop", "2s", "--sandbox-private-dirs", "")
		tok := token(t)
		wantGreeting := func(t *testing.T, out map[string]any, input string) {
			t.Helper()
			if out["greeting"] != "Hello" || out["process"] != "Greet" {
				t.Errorf("output = %v", out)
			}
			for _, k := range []string{"stdin", "env"} {
				if got := asJSONText(t, out[k]); got != input {
					t.Errorf("the process's %s input = %s, want %s", k, got, input)
				}
			}
		}

		t.Run("AsyncRequestReply", func(t *testing.T) {
			_, status := commandStart(t, s, "greet", map[string]any{"name": "Ada"})
			deadline := time.Now().Add(20 * time.Second)
			r := do(t, noFollow, "GET", status, tok, nil)
			for r.Status == http.StatusOK && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				r = do(t, noFollow, "GET", status, tok, nil)
			}
			wantStatus(t, r, http.StatusSeeOther)
			r = do(t, noFollow, "GET", r.Header.Get("Location"), tok, nil)
			wantStatus(t, r, http.StatusOK)
			wantGreeting(t, r.json(t), `{"count":2,"name":"Ada","shout":false}`)
		})

		t.Run("FireAndForget", func(t *testing.T) {
			r := do(t, noFollow, "POST", s.tenantURL("/t/greet"), tok, map[string]any{"name": "Bob", "count": 3, "$callMode": "FireAndForget"})
			wantStatus(t, r, http.StatusOK)
			q := url.Values{"$filter": {"ReleaseName eq 'Greet' and CallMode eq 'FireAndForget'"}}
			list := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs?"+q.Encode()), tok, nil)
			wantStatus(t, list, http.StatusOK)
			value, _ := list.json(t)["value"].([]any)
			if len(value) != 1 {
				t.Fatalf("FireAndForget jobs: %s", list.Body)
			}
			job := waitJobState(t, s, int(value[0].(map[string]any)["Id"].(float64)), "Successful")
			wantGreeting(t, job["OutputArguments"].(map[string]any), `{"count":3,"name":"Bob","shout":false}`)
		})

		t.Run("LongPolling", func(t *testing.T) {
			r := do(t, follow, "POST", s.tenantURL("/t/greet"), tok, map[string]any{"name": "Cy", "shout": true, "$callMode": "LongPolling"})
			wantStatus(t, r, http.StatusOK)
			wantGreeting(t, r.json(t), `{"count":2,"name":"Cy","shout":true}`)
		})

		t.Run("GET arguments are converted to the declared types", func(t *testing.T) {
			r := do(t, follow, "GET", s.tenantURL("/t/greet-get?name=Di&count=5&shout=true"), tok, nil)
			wantStatus(t, r, http.StatusOK)
			wantGreeting(t, r.json(t), `{"count":5,"name":"Di","shout":true}`)
		})

		t.Run("undeclared, missing and mistyped arguments are refused", func(t *testing.T) {
			r := do(t, noFollow, "POST", s.tenantURL("/t/greet"), tok, map[string]any{"count": "many", "extra": 1})
			p := wantProblem(t, r, http.StatusBadRequest)
			for _, name := range []string{"count", "extra", "name"} {
				if !strings.Contains(string(r.Body), `"name":"`+name+`"`) {
					t.Errorf("problem does not name %q: %v", name, p)
				}
			}
		})

		t.Run("a failing process is Faulted with the end of its stderr", func(t *testing.T) {
			r := do(t, follow, "POST", s.tenantURL("/t/broken"), tok, map[string]any{})
			p := wantProblem(t, r, http.StatusInternalServerError)
			if p["jobState"] != "Faulted" || p["info"] != "ledger.csv: permission denied" {
				t.Errorf("problem = %v", p)
			}
		})

		t.Run("progress shows on the status resource while the job runs", func(t *testing.T) {
			id, status := commandStart(t, s, "slow", map[string]any{})
			deadline := time.Now().Add(20 * time.Second)
			for {
				r := do(t, noFollow, "GET", status, tok, nil)
				wantStatus(t, r, http.StatusOK)
				body := r.json(t)
				if p, ok := body["Progress"].(map[string]any); ok {
					if body["State"] != "Running" || p["Percent"] != 30.0 || p["Message"] != "warming up" {
						t.Fatalf("status = %s", r.Body)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no progress on the status resource: %s", r.Body)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if job := waitJobState(t, s, id, "Running"); job["Progress"] == nil {
				t.Errorf("the Jobs API does not show the progress: %v", job)
			}
			if err := os.WriteFile(filepath.Join(dir, "go-"+itoa(id)), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			job := waitJobState(t, s, id, "Successful")
			if job["OutputArguments"].(map[string]any)["slow"] != "done" {
				t.Errorf("output = %v", job["OutputArguments"])
			}
		})

		t.Run("SoftStop sends SIGTERM and the job ends Stopped", func(t *testing.T) {
			id, _ := commandStart(t, s, "polite", map[string]any{})
			commandWaitFile(t, filepath.Join(dir, "ready-"+itoa(id)))
			commandStop(t, s, id, "SoftStop")
			job := waitJobState(t, s, id, "Stopped")
			if job["Info"] != "Stopped on request (SoftStop)" {
				t.Errorf("Info = %v", job["Info"])
			}
			if _, err := os.Stat(filepath.Join(dir, "term-"+itoa(id))); err != nil {
				t.Errorf("the process did not get SIGTERM: %v", err)
			}
		})

		t.Run("Kill ends the process group at once and the job ends Stopped", func(t *testing.T) {
			id, _ := commandStart(t, s, "stubborn", map[string]any{})
			commandWaitFile(t, filepath.Join(dir, "ready-"+itoa(id)))
			commandWaitFile(t, filepath.Join(dir, "grandchild-"+itoa(id)))
			// The pids the script sees are its namespace's: the test finds the job's
			// processes by the job's own uid instead.
			data, _ := os.ReadFile(filepath.Join(dir, "uid-"+itoa(id)))
			uid, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil || uid < 200000 || len(processesOfUID(uid)) < 2 {
				t.Fatalf("no running job and grandchild under a sandbox uid (%q, %v)", data, err)
			}
			start := time.Now()
			commandStop(t, s, id, "Kill")
			job := waitJobState(t, s, id, "Stopped")
			if job["Info"] != "Stopped on request (Kill)" {
				t.Errorf("Info = %v", job["Info"])
			}
			if took := time.Since(start); took > 8*time.Second {
				t.Errorf("the kill took %v (the SoftStop grace is 10s)", took)
			}
			deadline := time.Now().Add(5 * time.Second)
			for len(processesOfUID(uid)) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("processes of the job outlived the kill: %v", processesOfUID(uid))
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	})
}

// asJSONText encodes a decoded JSON value back to compact text (object keys sorted).
func asJSONText(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
