package robot

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/sandbox"
)

// SandboxConfig puts command processes in a sandbox (package sandbox): PID, mount and
// network namespaces of their own, an unprivileged uid per job, private temporary
// directories and rlimits.
type SandboxConfig struct {
	// Init is the argv that starts the sandbox init: the jobgate executable and
	// sandbox.InitCommand. Required.
	Init []string
	// UIDs hands each running job a uid of its own. Required.
	UIDs *sandbox.UIDs
	// PrivateDirs are the directories each job sees as an empty tmpfs of its own (its own
	// directory stays visible). Optional. nil = DefaultPrivateDirs; empty = none.
	PrivateDirs []string
	// Limits are the rlimits of a process that sets none. Optional. Zero fields take
	// DefaultLimits.
	Limits jobs.Limits
}

// DefaultPrivateDirs returns the world-writable directories a job gets private copies of.
func DefaultPrivateDirs() []string { return []string{"/tmp", "/var/tmp", "/dev/shm"} }

// DefaultLimits returns the rlimits of a sandboxed command process that declares none.
func DefaultLimits() jobs.Limits {
	return jobs.Limits{CPUTime: time.Hour, Memory: 4 << 30, OpenFiles: 1024, Processes: 256}
}

// jobUser is who a sandboxed job runs as; release gives a range uid back.
type jobUser struct {
	uid, gid uint32
	release  func()
}

// takeUser returns the fixed user of the process, or a free uid of the range.
func (s *SandboxConfig) takeUser(proc *jobs.Process) (jobUser, error) {
	if proc.User != nil {
		return jobUser{uid: proc.User.UID, gid: proc.User.GID, release: func() {}}, nil
	}
	id, err := s.UIDs.Take()
	if err != nil {
		return jobUser{}, err
	}
	return jobUser{uid: id, gid: id, release: func() { s.UIDs.Release(id) }}, nil
}

// jobsRoot returns the directory, owned by root and closed to listing (0711), that holds
// the jobs' own directories; only root can rename its entries, so a job cannot swap its
// directory for a link while the server reads its output file.
func (p *Pool) jobsRoot() (string, error) {
	p.rootOnce.Do(func() {
		p.root, p.rootErr = os.MkdirTemp("", "jobgate-jobs-")
		if p.rootErr == nil {
			p.rootErr = os.Chmod(p.root, 0o711)
		}
	})
	return p.root, p.rootErr
}

// sandboxedCmd returns the command that starts the sandbox init for spec, and the read end
// of its status pipe. The spec is written to the init once it runs (writeSpec).
func (s *SandboxConfig) sandboxedCmd(spec sandbox.Spec) (*exec.Cmd, *os.File, *os.File, error) {
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		specR.Close()
		specW.Close()
		return nil, nil, nil, err
	}
	flags := uintptr(syscall.CLONE_NEWPID | syscall.CLONE_NEWNS)
	if !spec.HostNetwork {
		flags |= syscall.CLONE_NEWNET
	}
	cmd := &exec.Cmd{
		Path: s.Init[0],
		Args: s.Init,
		// Nothing of the server's environment: the init needs none, and the command's
		// own is in the spec. One P is all the init uses (~1 ms less to start).
		Env:        []string{"GOMAXPROCS=1"},
		ExtraFiles: []*os.File{specR, statusW}, // fds 3 and 4: sandbox.SpecFD, sandbox.StatusFD
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: flags,
			Setpgid:    true,
			// A server that dies takes its jobs with it, as a stop would.
			Pdeathsig: syscall.SIGKILL,
		},
	}
	return cmd, specW, statusR, nil
}

// writeSpec sends the spec to a started init and closes the pipe.
func writeSpec(w *os.File, spec sandbox.Spec) {
	defer w.Close()
	_ = json.NewEncoder(w).Encode(spec)
}

// sandboxSpec describes the job for the init.
func (s *SandboxConfig) sandboxSpec(proc *jobs.Process, path string, env []string, dir string, user jobUser) sandbox.Spec {
	l := s.Limits.Or(DefaultLimits())
	if proc.Limits != nil {
		l = proc.Limits.Or(l)
	}
	private := s.PrivateDirs
	if private == nil {
		private = DefaultPrivateDirs()
	}
	workDir := proc.WorkingDir
	if workDir == "" {
		workDir = dir
	}
	return sandbox.Spec{
		Path: path, Args: proc.Command, Env: env, Dir: workDir, UID: user.uid, GID: user.gid,
		Limits: sandbox.Limits{
			CPUSeconds: uint64((l.CPUTime + time.Second - 1) / time.Second), AddressSpace: uint64(l.Memory),
			OpenFiles: uint64(l.OpenFiles), Processes: uint64(l.Processes),
		},
		PrivateDirs: private, TmpSize: l.Memory, Keep: []string{dir, proc.WorkingDir},
		HostNetwork: proc.HostNetwork,
	}
}

// ProbeSandbox starts the sandbox init once, without a command, and reports whether
// namespaces and mounts work here (root or CAP_SYS_ADMIN, namespaces allowed).
func ProbeSandbox(cfg SandboxConfig) error {
	if len(cfg.Init) == 0 {
		return errors.New("no sandbox init command")
	}
	spec := sandbox.Spec{Probe: true, PrivateDirs: DefaultPrivateDirs()}
	if cfg.PrivateDirs != nil {
		spec.PrivateDirs = cfg.PrivateDirs
	}
	cmd, specW, statusR, err := cfg.sandboxedCmd(spec)
	if err != nil {
		return err
	}
	defer statusR.Close()
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	err = cmd.Start()
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
	if err != nil {
		specW.Close()
		return fmt.Errorf("start the sandbox init: %w", err)
	}
	go writeSpec(specW, spec)
	waitErr := cmd.Wait()
	st, ok := sandbox.ReadStatus(statusR)
	switch {
	case ok && st.Error != "":
		return errors.New(st.Error)
	case !ok || waitErr != nil:
		return fmt.Errorf("the sandbox init failed (%v): %s", waitErr, stderr.String())
	}
	return nil
}

// limitedBuffer keeps the first 4 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if n := 4<<10 - len(l.b); n > 0 {
		l.b = append(l.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

// openOutputFile opens the output file a sandboxed job wrote, refusing anything but a
// regular file of the job's own uid with one link: the server reads it as root, so a
// link to another file (a secret of the server's) must not be followed.
func openOutputFile(path string, uid uint32) (*os.File, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, errors.New("it is a symbolic link")
		}
		return nil, &os.PathError{Op: "open", Path: filepath.Base(path), Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Uid != uid || st.Nlink != 1 {
		f.Close()
		return nil, errors.New("it is not a regular file the job wrote")
	}
	return f, nil
}
