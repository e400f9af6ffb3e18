package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// setUp makes the namespace's mounts private, mounts its own /proc, replaces the private
// directories by fresh tmpfs (keeping spec.Keep visible), and brings loopback up.
func setUp(spec Spec) error {
	// Nothing mounted here may propagate back to the host (nor the host's mounts in).
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make the mounts private: %w", err)
	}
	if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
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
		fd, err := syscall.Open(k, oPath|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", k, err)
		}
		defer syscall.Close(fd)
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
		if err := syscall.Mount("tmpfs", d, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
			return fmt.Errorf("mount a private %s: %w", d, err)
		}
	}
	for k, fd := range kept {
		if err := os.MkdirAll(k, 0o755); err != nil {
			return fmt.Errorf("keep %s: %w", k, err)
		}
		if err := syscall.Mount("/proc/self/fd/"+strconv.Itoa(fd), k, "", syscall.MS_BIND, ""); err != nil {
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

// oPath is O_PATH, which package syscall does not name.
const oPath = 0x200000

// ifreqFlags is struct ifreq with its ifr_flags member (the SIOC[GS]IFFLAGS argument).
type ifreqFlags struct {
	name  [16]byte
	flags uint16
	_     [22]byte
}

// loopbackUp sets IFF_UP on lo: a new network namespace starts with it down. (Package
// syscall, not x/sys: see package boot for why this package imports only the standard
// library.)
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr ifreqFlags
	copy(ifr.name[:], "lo")
	if err := ioctl(fd, syscall.SIOCGIFFLAGS, &ifr); err != nil {
		return err
	}
	ifr.flags |= syscall.IFF_UP
	return ioctl(fd, syscall.SIOCSIFFLAGS, &ifr)
}

func ioctl(fd int, req uintptr, ifr *ifreqFlags) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(ifr))); errno != 0 {
		return errno
	}
	return nil
}
