// Package redistest starts private redis-server processes for tests: one per call, on a free
// port, in a temporary directory, stopped when the test ends. Tests can stop and restart a
// server (its data survives through the append-only file) and build a Redis Cluster.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// installHint says how to get redis-server when it is missing.
const installHint = "redis-server not found in PATH: install it (`apt-get install -y redis-server`, or run `make test`, which installs it when run as root)"

// Server is one private redis-server.
type Server struct {
	t    testing.TB
	Port int
	Dir  string
	args []string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Addr returns host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// URL returns the redis:// URL of database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Start starts a redis-server on a free port with persistence in a temporary directory and
// stops it when the test ends. extra are more redis-server arguments.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal(installHint)
	}
	s := &Server{t: t, Dir: t.TempDir(), args: extra}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		s.Port = freePort(t)
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: no free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (s *Server) start() error {
	args := append([]string{
		"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--maxmemory-policy", "noeviction", "--daemonize", "no", "--loglevel", "warning",
		"--logfile", filepath.Join(s.Dir, "redis.log"),
	}, s.args...)
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
			return fmt.Errorf("redis-server on port %d exited: %v\n%s", s.Port, err, log)
		default:
		}
		if pong(s.Addr()) {
			s.mu.Lock()
			s.cmd = cmd
			s.mu.Unlock()
			go func() { <-exited }()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return fmt.Errorf("redis-server on port %d did not answer PING within 10s", s.Port)
}

// pong reports whether a Redis answers PING at addr.
func pong(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	reply := string(buf[:n])
	return strings.HasPrefix(reply, "+PONG") || strings.HasPrefix(reply, "-NOAUTH") // up, with a password
}

// Stop stops the server (its data stays in Dir). Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	for i := 0; i < 200 && pong(s.Addr()); i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

// Restart starts a stopped server again on the same port with the same data.
func (s *Server) Restart() {
	s.t.Helper()
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond) // the port may linger for a moment
	}
	s.t.Fatalf("redistest: restart: %v", err)
}

// CLI runs redis-cli against the server and returns its output.
func (s *Server) CLI(args ...string) (string, error) {
	full := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(s.Port)}, args...)
	out, err := exec.Command("redis-cli", full...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Cluster is a local Redis Cluster of masters without replicas.
type Cluster struct {
	Nodes []*Server
}

// Addrs returns the nodes' addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// StartCluster starts n cluster-enabled redis-servers and joins them with
// `redis-cli --cluster create`.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatal("redis-cli not found in PATH: install it (`apt-get install -y redis-tools`)")
	}
	c := &Cluster{}
	for i := 0; i < n; i++ {
		c.Nodes = append(c.Nodes, Start(t, "--cluster-enabled", "yes", "--cluster-node-timeout", "5000"))
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Every node must agree: state ok and all nodes known (gossip takes a moment).
		ready, info := true, ""
		for _, node := range c.Nodes {
			info, _ = node.CLI("cluster", "info")
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r", n)) && !strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\n", n)) {
				ready = false
				break
			}
		}
		if ready {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: cluster not ok after 30s:\n%s", info)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
