package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// The init's file descriptors beyond stdin, stdout and stderr.
const (
	// SpecFD is where the init reads its Spec (JSON, until EOF).
	SpecFD = 3
	// StatusFD is where the init writes its Status (JSON) before it exits.
	StatusFD = 4
)

// InitCommand is the hidden subcommand of jobgate that runs Init.
const InitCommand = "sandbox-init"

// Spec is everything the init needs to start one command. It travels over a pipe, never in
// the init's argv or environment.
type Spec struct {
	// Path is the program to run, Args its argv (Args[0] included), Env its whole
	// environment and Dir its working directory.
	Path string   `json:"path"`
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
	// UID and GID the command runs as; it gets no supplementary groups.
	UID uint32 `json:"uid"`
	GID uint32 `json:"gid"`
	// Limits are the command's rlimits.
	Limits Limits `json:"limits"`
	// PrivateDirs are replaced by an empty tmpfs of the namespace's own (those that do not
	// exist are skipped).
	PrivateDirs []string `json:"privateDirs"`
	// TmpSize bounds each private tmpfs, in bytes. 0 = the kernel's default (half the RAM).
	TmpSize int64 `json:"tmpSize"`
	// Keep are directories under PrivateDirs that stay visible at the same path (the
	// job's own directory).
	Keep []string `json:"keep"`
	// HostNetwork keeps the host's network; otherwise the namespace has only loopback
	// (and the caller cloned a new network namespace).
	HostNetwork bool `json:"hostNetwork"`
	// Probe sets the namespace up and reports success without starting a command.
	Probe bool `json:"probe"`
}

// Limits are rlimits for the command (hard and soft alike). 0 leaves a limit as it is.
type Limits struct {
	// CPUSeconds is RLIMIT_CPU: CPU time of each process, in seconds.
	CPUSeconds uint64 `json:"cpuSeconds"`
	// AddressSpace is RLIMIT_AS: virtual memory of each process, in bytes.
	AddressSpace uint64 `json:"addressSpace"`
	// OpenFiles is RLIMIT_NOFILE.
	OpenFiles uint64 `json:"openFiles"`
	// Processes is RLIMIT_NPROC: processes (threads) of the command's uid.
	Processes uint64 `json:"processes"`
}

// Status is how the command ended, as the init reports it.
type Status struct {
	// Error says why the namespace could not be set up or the command not started.
	Error string `json:"error,omitempty"`
	// Exit is the command's exit code; Signal, when not 0, the signal that ended it.
	Exit   int `json:"exit"`
	Signal int `json:"signal,omitempty"`
}

// ReadStatus reads the Status the init wrote. ok is false when the init wrote none (it
// was killed before the command ended).
func ReadStatus(r io.Reader) (st Status, ok bool) {
	data, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil || len(data) == 0 {
		return Status{}, false
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return Status{Error: fmt.Sprintf("the sandbox init reported nonsense: %v", err)}, true
	}
	return st, true
}

// readSpec reads the Spec from the init's SpecFD.
func readSpec() (Spec, error) {
	f := os.NewFile(SpecFD, "spec")
	defer f.Close()
	var spec Spec
	if err := json.NewDecoder(f).Decode(&spec); err != nil {
		return spec, fmt.Errorf("read the job description: %w", err)
	}
	return spec, nil
}
