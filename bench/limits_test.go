package bench

import (
	"fmt"
	"syscall"
)

// fileLimits is the open-files limit (ulimit -n) the harness and its child servers run with.
type fileLimits struct {
	Soft, Hard uint64 // after raising the soft limit
	Err        string // why it could not be read or raised
}

// raiseFileLimit raises the soft open-files limit to the hard one. Calling Setrlimit (rather
// than relying on the Go runtime's own raise) makes child processes inherit the new limit.
func raiseFileLimit() fileLimits {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fileLimits{Err: fmt.Sprintf("getrlimit: %v", err)}
	}
	l := fileLimits{Soft: lim.Cur, Hard: lim.Max}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			l.Err = fmt.Sprintf("setrlimit: %v", err)
			return l
		}
		l.Soft = lim.Max
	}
	// Setrlimit with the current values too, so that children get it even when it was
	// already at the hard limit (the runtime restores the original soft limit otherwise).
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: l.Soft, Max: l.Hard})
	return l
}

// fdReserve is the descriptors a process needs besides its sockets to the held calls:
// Redis connections, listeners, files, the load generator's other clients.
const fdReserve = 1024

// heldCallsAllowed returns how many held calls fit in the limit: each is one socket in the
// harness and one in the server, and the two are separate processes with the same limit.
func (l fileLimits) heldCallsAllowed(want int) int {
	if l.Soft == 0 || l.Soft > uint64(want+fdReserve) {
		return want
	}
	return max(int(l.Soft)-fdReserve, 0)
}
