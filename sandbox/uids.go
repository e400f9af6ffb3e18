package sandbox

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// UIDs hands out the uids of a range, one per running job, so that no job can read
// another's files or signal another's processes, and RLIMIT_NPROC counts one job. A
// released uid goes to the back of the queue: it is handed out again as late as possible,
// after every other free uid (files a job left in a shared world-writable directory meet
// the next owner of its uid as rarely as the range allows). Safe for concurrent use.
type UIDs struct {
	mu          sync.Mutex
	first, last uint32
	next        uint32   // the lowest never handed out; last+1 when all were
	released    []uint32 // FIFO of released uids
	inUse       map[uint32]bool
}

// NewUIDs returns the uids first..last (inclusive).
func NewUIDs(first, last uint32) (*UIDs, error) {
	if first == 0 || last < first {
		return nil, fmt.Errorf("a uid range needs 0 < first <= last, got %d-%d", first, last)
	}
	return &UIDs{first: first, last: last, next: first, inUse: map[uint32]bool{}}, nil
}

// ParseUIDRange reads "FIRST-LAST".
func ParseUIDRange(s string) (first, last uint32, err error) {
	a, b, ok := strings.Cut(s, "-")
	f, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 32)
	l, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 32)
	if !ok || err1 != nil || err2 != nil || f == 0 || l < f {
		return 0, 0, fmt.Errorf("%q: want FIRST-LAST, two uids with 0 < FIRST <= LAST, e.g. 200000-299999", s)
	}
	return uint32(f), uint32(l), nil
}

// ErrNoUID is returned by Take when every uid of the range is in use.
var ErrNoUID = errors.New("every uid of the sandbox range is in use by a running job")

// Take returns a uid no running job has.
func (u *UIDs) Take() (uint32, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.next != 0 && u.next <= u.last {
		id := u.next
		u.next++
		if u.next == 0 { // wrapped past 2^32-1
			u.next = u.last + 1
		}
		u.inUse[id] = true
		return id, nil
	}
	if len(u.released) == 0 {
		return 0, ErrNoUID
	}
	id := u.released[0]
	u.released = u.released[1:]
	u.inUse[id] = true
	return id, nil
}

// Release gives back a uid from Take once its job's processes are all gone.
func (u *UIDs) Release(id uint32) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.inUse[id] {
		return
	}
	delete(u.inUse, id)
	u.released = append(u.released, id)
}
