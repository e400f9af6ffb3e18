package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// setUp makes the namespace's mounts private, mounts its own /proc, replaces the private
// directories by fresh tmpfs (keeping spec.Keep visible), and brings loopback up.
func setUp(spec Spec) error {
	// Nothing mounted here may propagate back to the host (nor the host's mounts in).
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make the mounts private: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	if err := privateDirs(spec); err != nil {
		return err
	}
	if !spec.HostNetwork {
		if err := loopbackUp(); err != nil {
			return fmt.Errorf("bring up loopback: %w", err)
		}
	}
	return nil
}

// privateDirs mounts a tmpfs over each existing private directory; the directories of
// spec.Keep under one are bind-mounted back at their own path.
func privateDirs(spec Spec) error {
	kept := map[string]int{}
	for _, k := range spec.Keep {
		if !under(k, spec.PrivateDirs) {
			continue
		}
		fd, err := unix.Open(k, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", k, err)
		}
		defer unix.Close(fd)
		kept[k] = fd
	}
	opts := "mode=1777"
	if spec.TmpSize > 0 {
		opts += ",size=" + strconv.FormatInt(spec.TmpSize, 10)
	}
	for _, d := range spec.PrivateDirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		if err := unix.Mount("tmpfs", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
			return fmt.Errorf("mount a private %s: %w", d, err)
		}
	}
	for k, fd := range kept {
		if err := os.MkdirAll(k, 0o755); err != nil {
			return fmt.Errorf("keep %s: %w", k, err)
		}
		if err := unix.Mount("/proc/self/fd/"+strconv.Itoa(fd), k, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("keep %s: %w", k, err)
		}
	}
	return nil
}

// under reports whether path lies below one of dirs.
func under(path string, dirs []string) bool {
	path = filepath.Clean(path)
	for _, d := range dirs {
		d = filepath.Clean(d)
		if path != d && strings.HasPrefix(path, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

// loopbackUp sets IFF_UP on lo: a new network namespace starts with it down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
