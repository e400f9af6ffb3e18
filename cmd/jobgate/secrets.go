package main

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// readSecretFiles reads the --*-file secrets once, at start, into the flags they stand for,
// so that no secret needs to be in the server's argv (readable by every user in
// /proc/PID/cmdline). A file wins over the flag; trailing newlines are dropped.
func readSecretFiles(f *serveFlags) error {
	for _, s := range []struct {
		flag string
		path string
		into *string
	}{
		{"--jwt-secret-file", f.jwtSecretFile, &f.jwtSecret},
		{"--redis-password-file", f.redisPasswordFile, &f.redisPassword},
		{"--capability-secret-file", f.capabilitySecretFile, &f.capabilitySecret},
	} {
		if s.path == "" {
			continue
		}
		data, err := os.ReadFile(s.path)
		if err != nil {
			return fmt.Errorf("%s: %w", s.flag, err)
		}
		v := strings.TrimRight(string(data), "\r\n")
		if v == "" {
			return fmt.Errorf("%s: the file is empty", s.flag)
		}
		*s.into = v
	}
	return nil
}

// hideFromOtherUsers marks the server non-dumpable: /proc/PID/environ, mem and the like
// become unreadable to every other uid (the sandboxed jobs' included), and no other
// non-root process may ptrace it.
func hideFromOtherUsers() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE, 0): %w", err)
	}
	return nil
}
