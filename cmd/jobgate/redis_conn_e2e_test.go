package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jobgate/jobgate/internal/redistest"
)

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// writeTLSFiles makes a CA and a server certificate for 127.0.0.1 and writes them as PEM.
func writeTLSFiles(t *testing.T) (caFile, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "jobgate test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER), write("server.key", "EC PRIVATE KEY", keyDER)
}

func TestRedis_TLSWithPasswordAndDatabase(t *testing.T) {
	t.Parallel()
	ca, cert, key := writeTLSFiles(t)
	tlsPort := freeTCPPort(t)
	r := redistest.Start(t, "--tls-port", strconv.Itoa(tlsPort), "--tls-cert-file", cert, "--tls-key-file", key,
		"--tls-ca-cert-file", ca, "--tls-auth-clients", "no", "--requirepass", "s3cret")
	url := "rediss://:s3cret@127.0.0.1:" + strconv.Itoa(tlsPort) + "/3"

	// Without trusting the CA the server refuses to start, saying why.
	code := run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0", "--jwt-secret", testSecret, "--redis", url}, func(string) string { return "" }, &syncBuffer{}, &syncBuffer{})
	if code == 0 {
		t.Fatal("serve started on a rediss:// URL whose certificate it cannot verify")
	}

	s := startServer(t, "--redis", url, "--redis-ca-file", ca)
	res := do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 2, "y": 3, "$callMode": "LongPolling"})
	wantStatus(t, res, http.StatusOK)
	if res.json(t)["sum"] != 5.0 {
		t.Fatalf("output = %s", res.Body)
	}
	// The job is in database 3, reached over TLS with the password.
	plain := redis.NewClient(&redis.Options{Addr: r.Addr(), Password: "s3cret", DB: 3})
	defer plain.Close()
	if n := plain.ZCard(context.Background(), "{jobgate}:byid:default/default").Val(); n != 1 {
		t.Fatalf("database 3 indexes %d jobs, want 1", n)
	}
}

func TestRedis_Sentinel(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t)
	port := freeTCPPort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(conf, []byte("port "+strconv.Itoa(port)+"\nbind 127.0.0.1\ndir "+dir+"\nsentinel monitor mymaster 127.0.0.1 "+strconv.Itoa(master.Port)+" 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sentinel := exec.Command("redis-server", conf, "--sentinel")
	if err := sentinel.Start(); err != nil {
		t.Fatalf("start redis-server --sentinel: %v", err)
	}
	t.Cleanup(func() { _ = sentinel.Process.Kill(); _ = sentinel.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	sc := redis.NewSentinelClient(&redis.Options{Addr: addr})
	defer sc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if a, err := sc.GetMasterAddrByName(context.Background(), "mymaster").Result(); err == nil && len(a) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sentinel does not know mymaster after 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	s := startServer(t, "--redis-sentinel-master", "mymaster", "--redis-sentinels", addr)
	res := do(t, follow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 2, "y": 3, "$callMode": "LongPolling"})
	wantStatus(t, res, http.StatusOK)
	direct := redis.NewClient(&redis.Options{Addr: master.Addr()})
	defer direct.Close()
	if n := direct.ZCard(context.Background(), "{jobgate}:byid:default/default").Val(); n != 1 {
		t.Fatalf("the master indexes %d jobs, want 1", n)
	}
}

func TestRedis_BadConnectionFlagsAreClearErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--redis", "http://x"}, "--redis"},
		{[]string{"--redis-sentinel-master", "m"}, "--redis-sentinels"},
		{[]string{"--redis-sentinel-master", "m", "--redis-sentinels", "a:1", "--redis-cluster", "b:1"}, "exclude each other"},
		{[]string{"--redis", "redis://127.0.0.1:1/0", "--redis-ca-file", "x.pem"}, "rediss://"},
		{[]string{"--redis", "redis://127.0.0.1:1/0"}, "cannot reach Redis"},
	} {
		stderr := &syncBuffer{}
		args := append([]string{"serve", "--listen", "127.0.0.1:0", "--jwt-secret", testSecret}, c.args...)
		if code := run(context.Background(), args, func(string) string { return "" }, &syncBuffer{}, stderr); code == 0 {
			t.Errorf("%v: exit 0", c.args)
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", c.args, c.want, stderr)
		}
	}
}
