package main

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// sandboxOptions reads a command process's user:, network: and limits: (config file only:
// the API cannot set them). On error it also returns the key at fault.
func (fp fileProcess) sandboxOptions(p jobs.Process) (jobs.Process, []any, error) {
	switch fp.Network {
	case "", "none":
	case "host":
		p.HostNetwork = true
	default:
		return p, []any{"network"}, jobs.Errorf(jobs.EINVALID, "process %q: network %q: want none (loopback only, the default) or host", fp.Key, fp.Network)
	}
	if fp.User != "" {
		runAs, err := lookupRunAs(fp.User)
		if err != nil {
			return p, []any{"user"}, jobs.Errorf(jobs.EINVALID, "process %q: user %q: %v", fp.Key, fp.User, err)
		}
		p.User = runAs
	}
	if fp.Limits != nil {
		l, field, err := fp.Limits.limits()
		if err != nil {
			return p, []any{"limits", field}, jobs.Errorf(jobs.EINVALID, "process %q: limits: %s: %v", fp.Key, field, err)
		}
		p.Limits = &l
	}
	return p, nil, nil
}

// lookupRunAs finds a user by name or number; root is refused.
func lookupRunAs(name string) (*jobs.RunAs, error) {
	var u *user.User
	var err error
	if _, nerr := strconv.ParseUint(name, 10, 32); nerr == nil {
		u, err = user.LookupId(name)
		if err != nil { // a bare uid need not be in /etc/passwd: its gid is the same number
			u = &user.User{Uid: name, Gid: name}
			err = nil
		}
	} else {
		u, err = user.Lookup(name)
	}
	if err != nil {
		return nil, err
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("uid %q or gid %q is not a number", u.Uid, u.Gid)
	}
	if uid == 0 {
		return nil, fmt.Errorf("a command process may not run as root")
	}
	return &jobs.RunAs{UID: uint32(uid), GID: uint32(gid), Name: name}, nil
}

// limits checks the declared limits; on error it names the key at fault.
func (fl fileLimits) limits() (jobs.Limits, string, error) {
	var l jobs.Limits
	if fl.CPUTime != "" {
		d, err := time.ParseDuration(fl.CPUTime)
		if err != nil || d < time.Second {
			return l, "cpuTime", fmt.Errorf("%q: want a Go duration of at least 1s, e.g. 10m", fl.CPUTime)
		}
		l.CPUTime = d
	}
	if fl.Memory != "" {
		n, err := parseBytes(fl.Memory)
		// The sandbox init lives under the same RLIMIT_AS (it must take the limits on itself,
		// see sandbox.start), and a Go program reserves ~1.2 GiB of address space.
		if err != nil || n < 2<<30 {
			return l, "memory", fmt.Errorf("%q: want at least 2GiB (the address space the sandbox init itself needs), e.g. 2GiB or 4GiB", fl.Memory)
		}
		l.Memory = n
	}
	if fl.OpenFiles < 0 || fl.Processes < 0 {
		return l, "openFiles", fmt.Errorf("openFiles and processes must be positive")
	}
	l.OpenFiles, l.Processes = fl.OpenFiles, fl.Processes
	return l, "", nil
}

// parseBytes reads "2GiB", "512MiB", "64KiB" or a plain number of bytes.
func parseBytes(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40} {
		if rest, ok := strings.CutSuffix(s, suffix); ok {
			s, mult = strings.TrimSpace(rest), m
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("not a size")
	}
	return n * mult, nil
}
