package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// rlimitNPROC is RLIMIT_NPROC, which package syscall does not name.
const rlimitNPROC = 6

// Init is the sandbox init: PID 1 of a fresh PID namespace, still root. It reads the Spec
// from SpecFD, makes the namespace's mounts (and loopback), starts the command as the
// Spec's uid, forwards SIGTERM, SIGINT and SIGHUP to every process of the namespace, reaps
// orphans, and when the command ends writes its Status to StatusFD and returns the exit
// code to exit with. Its return ends the namespace: the kernel kills whatever is left.
func Init() int {
	syscall.CloseOnExec(SpecFD)
	syscall.CloseOnExec(StatusFD)
	status := os.NewFile(StatusFD, "status")
	report := func(st Status) {
		data, _ := json.Marshal(st)
		_, _ = status.Write(data)
		status.Close()
	}
	if os.Getpid() != 1 {
		report(Status{Error: "the sandbox init must be PID 1 of a new PID namespace"})
		return 125
	}
	spec, err := readSpec()
	if err == nil {
		err = setUp(spec)
	}
	if err != nil {
		report(Status{Error: err.Error()})
		return 125
	}
	if spec.Probe {
		report(Status{})
		return 0
	}
	// Notify before the start: a SIGTERM that arrives early is forwarded, not lost.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	pid, err := start(spec)
	if err != nil {
		report(Status{Error: err.Error()})
		return 127
	}
	go func() {
		for sig := range signals {
			_ = syscall.Kill(-1, sig.(syscall.Signal)) // every process of the namespace but this one
		}
	}()
	st := reapUntil(pid)
	report(st)
	if st.Signal != 0 {
		return 128 + st.Signal
	}
	return st.Exit
}

// reapUntil reaps every child (orphans are re-parented to PID 1) until pid ends, and
// returns how pid ended.
func reapUntil(pid int) Status {
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return Status{Error: fmt.Sprintf("wait for the process: %v", err)}
		}
		if got != pid {
			continue
		}
		switch {
		case ws.Exited():
			return Status{Exit: ws.ExitStatus()}
		case ws.Signaled():
			return Status{Signal: int(ws.Signal())}
		}
	}
}

// start starts the command as spec.UID in spec.Dir, with spec.Limits. Go cannot set
// rlimits between fork and exec, so the init takes them on itself first and the command
// inherits them (the init needs little: a few files, no CPU, memory it has mapped already).
func start(spec Spec) (int, error) {
	if err := setLimits(spec.Limits); err != nil {
		return 0, err
	}
	return syscall.ForkExec(spec.Path, spec.Args, &syscall.ProcAttr{
		Dir:   spec.Dir,
		Env:   spec.Env,
		Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: spec.UID, Gid: spec.GID, Groups: []uint32{}},
		},
	})
}

// setLimits sets the non-zero limits, soft and hard, on this process. (syscall.Setrlimit
// also stops the runtime from restoring its own RLIMIT_NOFILE in the child.)
func setLimits(l Limits) error {
	for _, r := range []struct {
		resource int
		value    uint64
		name     string
	}{
		{syscall.RLIMIT_CPU, l.CPUSeconds, "cpu time"},
		{syscall.RLIMIT_AS, l.AddressSpace, "memory"},
		{syscall.RLIMIT_NOFILE, l.OpenFiles, "open files"},
		{rlimitNPROC, l.Processes, "processes"},
	} {
		if r.value == 0 || (r.resource == syscall.RLIMIT_AS && !LimitsAddressSpace) {
			continue
		}
		if err := syscall.Setrlimit(r.resource, &syscall.Rlimit{Cur: r.value, Max: r.value}); err != nil {
			return fmt.Errorf("set the %s limit: %w", r.name, err)
		}
	}
	return nil
}
