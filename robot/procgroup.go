package robot

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
	"time"
)

// A command process runs as the leader of its own process group (Setpgid), so that a stop,
// a kill or the end of the job reaches everything it started, grandchildren included.

// signalGroup sends sig to every process of the group. A group already gone is no error.
func signalGroup(pgid int, sig syscall.Signal) {
	_ = syscall.Kill(-pgid, sig)
}

// endGroup kills whatever is left of the group and waits, at most wait, until none of it
// runs. It reports whether the group is gone.
func endGroup(pgid int, wait time.Duration) bool {
	signalGroup(pgid, syscall.SIGKILL)
	deadline := time.Now().Add(wait)
	for {
		reapGroup(pgid)
		if !groupAlive(pgid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// reapGroup collects the exit status of members of the group that are children of this
// process. When jobgate runs as PID 1 (a container without an init), orphaned grandchildren
// are re-parented to it and would otherwise stay zombies forever. The group's leader was
// reaped by its exec.Cmd already, so nothing else waits for these.
func reapGroup(pgid int) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-pgid, &ws, syscall.WNOHANG, nil)
		if err != nil || pid <= 0 {
			return
		}
	}
}

// groupAlive reports whether a process of the group still runs. kill(2) counts zombies
// (killed, not yet reaped by their parent — under an init that does not reap orphans,
// never), so where /proc is readable a group of zombies only is dead.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, group, ok := procState(pid)
		if ok && group == pgid && state != 'Z' && state != 'X' {
			return true
		}
	}
	return false
}

// procState reads a process's state letter and process group from /proc/PID/stat.
func procState(pid int) (state byte, pgid int, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := bytes.Fields(data[i+1:])
	if len(fields) < 3 || len(fields[0]) != 1 {
		return 0, 0, false
	}
	pgid, err = strconv.Atoi(string(fields[2]))
	if err != nil {
		return 0, 0, false
	}
	return fields[0][0], pgid, true
}
