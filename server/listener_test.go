package server

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// tcpPair returns the server and client ends of a TCP connection on loopback.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return server, client
}

func TestListener_HandsBackConnectionsAndClosesTheIdleOnesOnClose(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newListener(inner)

	// A new connection and a handed-back one both come out of Accept.
	dialed, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer dialed.Close()
	if c, err := l.Accept(); err != nil {
		t.Fatal(err)
	} else {
		c.Close()
	}
	parkedServerSide, parkedClientSide := tcpPair(t)
	busyServerSide, _ := tcpPair(t)
	for _, c := range []net.Conn{parkedServerSide, busyServerSide} {
		go l.giveBack(c)
		got, err := l.Accept()
		if err != nil || got != c {
			t.Fatalf("Accept = %v, %v; want the handed-back connection", got, err)
		}
	}
	l.connState(busyServerSide, http.StateActive) // its next request started

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// The idle handed-back connection was closed: its client reads EOF.
	_ = parkedClientSide.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := parkedClientSide.Read(make([]byte, 1)); err == nil {
		t.Fatal("the idle handed-back connection is still open after Close")
	}
	// The busy one is the HTTP server's to close: still open.
	if _, err := busyServerSide.Write([]byte("x")); err != nil {
		t.Fatalf("Close closed a connection whose request had started: %v", err)
	}
	if _, err := l.Accept(); err == nil {
		t.Fatal("Accept after Close succeeded")
	}
	extra, _ := tcpPair(t)
	if l.giveBack(extra) {
		t.Fatal("giveBack after Close was accepted")
	}
}
