package client_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/jobgate/jobgate/auth"
)

// The tests of this package call the real server: `go build ./cmd/jobgate`, run as a child
// process on a free port, with the dev samples and the tenant in capTenantConfig.

const testSecret = "client-test-secret-of-at-least-32-bytes"

// capTenantConfig declares acme/web, whose status, output and hop URLs carry capabilities
// and whose redirects are 302.
const capTenantConfig = `tenants:
  - org: acme
    tenant: web
    settings:
      requireAuthOnRedirects: false
      redirectStatus: 302
    processes:
      - key: Sleep
        builtin: Sleep
    triggers:
      - slug: nap
        process: Sleep
        method: POST
        callMode: LongPolling
`

// testEnv is what TestMain prepared: the binary and a server the Example uses.
type testEnv struct {
	dir, bin, exampleURL string
}

// env is set once by TestMain before any test or example runs, and only read after.
var env testEnv

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "jobgate-client-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	env.dir, env.bin = dir, filepath.Join(dir, "jobgate")
	build := exec.Command("go", "build", "-o", env.bin, "../cmd/jobgate")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ../cmd/jobgate (needs the go tool on PATH): %v\n%s", err, out)
		return 1
	}
	cmd, url, err := startJobgate(env.bin, "--long-poll-hop", "300ms")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	env.exampleURL = url
	return m.Run()
}

var listening = regexp.MustCompile(`msg="jobgate listening" url=(http://[0-9.:]+)`)

// startJobgate runs `jobgate serve --dev` on a free port with the test secret, plus args, and
// returns once it listens.
func startJobgate(bin string, args ...string) (*exec.Cmd, string, error) {
	cfg := filepath.Join(env.dir, "acme.yaml")
	if err := os.WriteFile(cfg, []byte(capTenantConfig), 0o600); err != nil {
		return nil, "", err
	}
	full := append([]string{"serve", "--dev", "--config", cfg, "--listen", "127.0.0.1:0", "--jwt-secret", testSecret, "--robots", "4"}, args...)
	cmd := exec.Command(bin, full...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start jobgate: %w", err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case url := <-found:
		return cmd, url, nil
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, "", fmt.Errorf("jobgate did not listen within 20s")
	}
}

// startServer starts a server for one test, stopped when it ends.
func startServer(t *testing.T, args ...string) string {
	t.Helper()
	cmd, url, err := startJobgate(env.bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return url
}

// mint returns a token for org/tenant with every scope.
func mint(org, tenant string) string {
	tok, err := auth.Mint(auth.MintConfig{Secret: []byte(testSecret), Org: org, Tenant: tenant, Subject: "client-test", TTL: time.Hour})
	if err != nil {
		panic(err) // a fixed secret and claims: cannot fail
	}
	return tok
}
