package sandbox_test

import (
	"errors"
	"testing"

	"github.com/jobgate/jobgate/sandbox"
)

func TestUIDs_EachRunningJobHasItsOwnAndReleasedOnesComeBackLast(t *testing.T) {
	u, err := sandbox.NewUIDs(200000, 200002)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := u.Take()
	b, _ := u.Take()
	c, _ := u.Take()
	if a == b || b == c || a == c || a < 200000 || c > 200002 {
		t.Fatalf("uids %d %d %d: want three different ones of the range", a, b, c)
	}
	if _, err := u.Take(); !errors.Is(err, sandbox.ErrNoUID) {
		t.Fatalf("a fourth Take = %v, want ErrNoUID", err)
	}
	u.Release(b)
	u.Release(a)
	if got, _ := u.Take(); got != b {
		t.Errorf("Take after releasing %d then %d = %d, want the first released", b, a, got)
	}
	u.Release(b)
	u.Release(b) // twice: no double entry
	if got, _ := u.Take(); got != a {
		t.Errorf("Take = %d, want %d (released before)", got, a)
	}
}

func TestParseUIDRange_RefusesRootAndReversedRanges(t *testing.T) {
	for _, s := range []string{"0-10", "10-5", "abc", "5", "200000-"} {
		if _, _, err := sandbox.ParseUIDRange(s); err == nil {
			t.Errorf("ParseUIDRange(%q) accepted", s)
		}
	}
	if f, l, err := sandbox.ParseUIDRange("200000-299999"); err != nil || f != 200000 || l != 299999 {
		t.Errorf("ParseUIDRange = %d, %d, %v", f, l, err)
	}
}
