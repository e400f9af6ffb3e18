package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Who may define a command process (issue 8, part 2), and secrets kept out of argv.

func TestAPICommands_RefusedWithoutAllowApiCommandsAndAllowedWithIt(t *testing.T) {
	t.Parallel()
	cfg := writeFile(t, "jobgate.yaml", `tenants:
  - org: acme
    tenant: locked
  - org: acme
    tenant: trusted
    settings: {allowApiCommands: true}
`)
	s := startServer(t, "--config", cfg)
	release := map[string]any{"Name": "Peek", "Command": []string{"cat", "/proc/1/environ"}}
	for tenant, want := range map[string]int{"locked": http.StatusConflict, "trusted": http.StatusCreated} {
		tok := tokenFor(t, "acme", tenant)
		r := do(t, noFollow, "POST", s.URL+"/acme/"+tenant+"/orchestrator_/odata/Releases", tok, release)
		wantStatus(t, r, want)
		if want == http.StatusConflict && !strings.Contains(string(r.Body), "allowApiCommands") {
			t.Errorf("the refusal does not say what the operator must enable: %s", r.Body)
		}
		settings := do(t, noFollow, "GET", s.URL+"/acme/"+tenant+"/orchestrator_/odata/Settings", tok, nil)
		wantStatus(t, settings, http.StatusOK)
		if got := settings.json(t)["AllowApiCommands"]; got != (tenant == "trusted") {
			t.Errorf("GET Settings of %s: AllowApiCommands = %v", tenant, got)
		}
		// A tenant admin cannot grant it: PUT Settings refuses the change, names the field.
		put := do(t, noFollow, "PUT", s.URL+"/acme/"+tenant+"/orchestrator_/odata/Settings", tok,
			map[string]any{"AllowApiCommands": tenant != "trusted"})
		wantStatus(t, put, http.StatusConflict)
		if !strings.Contains(string(put.Body), "AllowApiCommands") {
			t.Errorf("PUT Settings refusal = %s", put.Body)
		}
	}
	// A builtin release stays allowed everywhere.
	r := do(t, noFollow, "POST", s.URL+"/acme/locked/orchestrator_/odata/Releases", tokenFor(t, "acme", "locked"),
		map[string]any{"Name": "Nap", "Builtin": "Sleep"})
	wantStatus(t, r, http.StatusCreated)
}

// The "sandbox unavailable" case is simulated with --sandbox off: the server takes the
// same path as when its start-up probe fails (no sandbox config; API commands refused
// unless --unsafe-commands).
func TestAPICommands_UnsandboxedServerRefusesThemUnlessUnsafeCommands(t *testing.T) {
	t.Parallel()
	release := map[string]any{"Name": "Peek", "Command": []string{"true"}}
	refusing := startServer(t, "--sandbox", "off")
	r := do(t, noFollow, "POST", refusing.tenantURL("/odata/Releases"), token(t), release)
	wantStatus(t, r, http.StatusConflict)
	if !strings.Contains(string(r.Body), "--unsafe-commands") || !strings.Contains(refusing.Stderr.String(), "UNSANDBOXED") {
		t.Errorf("answer %s / log %s: want the refusal naming --unsafe-commands and a start-up warning", r.Body, refusing.Stderr.String())
	}
	unsafe := startServer(t, "--sandbox", "off", "--unsafe-commands")
	wantStatus(t, do(t, noFollow, "POST", unsafe.tenantURL("/odata/Releases"), token(t), release), http.StatusCreated)
}

func TestSecrets_JWTSecretFileWorksAndStaysOutOfTheCommandLine(t *testing.T) {
	t.Parallel()
	bin := buildJobgate(t)
	secretFile := filepath.Join(t.TempDir(), "jwt-secret")
	if err := os.WriteFile(secretFile, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startChild(t, bin, childEnv(), "serve", "--listen", "127.0.0.1:0", "--jwt-secret-file", secretFile, "--robots", "0", "--dev")
	p.waitListening(t)
	r := do(t, noFollow, "GET", p.URL+"/default/default/orchestrator_/odata/Settings", token(t), nil)
	wantStatus(t, r, http.StatusOK)
	cmdline, err := os.ReadFile(filepath.Join("/proc", itoa(p.cmd.Process.Pid), "cmdline"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cmdline), testSecret) {
		t.Errorf("the secret is in the server's command line: %q", cmdline)
	}
}

// TestAPICommands_PeekAtTheServerFindsNothing is the reproduction of issue 8 through the real
// server: a tenant allowed to define commands (default/default under --dev) makes one that
// reads the server's environment and command line, signals it and lists /proc.
func TestAPICommands_PeekAtTheServerFindsNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	m := newMgmt(t, s)
	m.create("Releases", map[string]any{"Name": "Peek", "Env": map[string]string{"SERVER": itoa(os.Getpid())},
		"Command": []string{"/bin/sh", "-c", `
cat /proc/$SERVER/environ /proc/$SERVER/cmdline 2>/dev/null | tr '\0' ' ' | grep -c secret > /dev/null && echo "secret=FOUND" || echo "secret=none"
kill -0 $SERVER 2>/dev/null && echo "signal=SENT" || echo "signal=refused"
printf '{"uid": %s, "processes": %s}' "$(id -u)" "$(ls -d /proc/[0-9]* | wc -l)" > "$JOBGATE_OUTPUT"`}})
	m.create("ApiTriggers", map[string]any{"Slug": "peek", "ReleaseName": "Peek", "CallMode": "LongPolling"})
	out := invokeLongPolling(t, s, "peek", map[string]any{})
	wantStatus(t, out, http.StatusOK)
	got := out.json(t)
	if uid, _ := got["uid"].(float64); uid < 200000 || uid > 299999 {
		t.Errorf("the job ran as uid %v, want one of --sandbox-uids", got["uid"])
	}
	if n, _ := got["processes"].(float64); n < 1 || n > 8 { // its init, its shell, the pipeline
		t.Errorf("the job sees %v processes, want only its namespace's few", got["processes"])
	}
	log := m.do("GET", "Jobs(1)/Logs", nil)
	wantStatus(t, log, http.StatusOK)
	if !strings.Contains(string(log.Body), "secret=none") || !strings.Contains(string(log.Body), "signal=refused") {
		t.Errorf("log = %s, want no secret read and no signal sent", log.Body)
	}
}
