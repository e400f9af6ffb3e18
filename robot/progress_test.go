package robot

import (
	"strings"
	"testing"

	"github.com/jobgate/jobgate/jobs"
)

func TestParseProgress_ReadsPercentAndMessageAndRefusesTheRest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		givenLine  string
		expectOK   bool
		expectProg jobs.Progress
	}{
		{"::progress 42 halfway there", true, jobs.Progress{Percent: 42, Message: "halfway there"}},
		{"::progress 42", true, jobs.Progress{Percent: 42}},
		{"::progress\t7\tstep\r", true, jobs.Progress{Percent: 7, Message: "step"}},
		{"::progress 33.9 rounding down", true, jobs.Progress{Percent: 33, Message: "rounding down"}},
		{"::progress 250 too much", true, jobs.Progress{Percent: 100, Message: "too much"}},
		{"::progress -3", true, jobs.Progress{Percent: 0}},
		{"::progress 99999999999999999999999 huge", true, jobs.Progress{Percent: 100, Message: "huge"}},
		{"::progress", false, jobs.Progress{}},
		{"::progress nope", false, jobs.Progress{}},
		{"::progress NaN", false, jobs.Progress{}},
		{"::progress 5x", false, jobs.Progress{}},
		{"::progressive 5", false, jobs.Progress{}},
		{" ::progress 5", false, jobs.Progress{}},
		{"progress 5", false, jobs.Progress{}},
	} {
		got, ok := parseProgress([]byte(tc.givenLine))
		if ok != tc.expectOK || got != tc.expectProg {
			t.Errorf("parseProgress(%q) = %+v, %v; want %+v, %v", tc.givenLine, got, ok, tc.expectProg, tc.expectOK)
		}
	}
}

func TestProgressWatcher_FindsLinesAcrossWritesAndSkipsOverlongOnes(t *testing.T) {
	t.Parallel()
	var got []jobs.Progress
	w := &progressWatcher{report: func(p jobs.Progress) { got = append(got, p) }}
	for _, chunk := range []string{"out\n::prog", "ress 10 a\n", "::progress " + strings.Repeat("9", maxProgressLine) + "\n", "::progress 20 b"} {
		w.Write([]byte(chunk))
	}
	w.endLine()
	if len(got) != 2 || got[0] != (jobs.Progress{Percent: 10, Message: "a"}) || got[1] != (jobs.Progress{Percent: 20, Message: "b"}) {
		t.Errorf("reported %+v", got)
	}
}

func TestLogTail_KeepsTheLastBytesWithinTheLimit(t *testing.T) {
	t.Parallel()
	l := newLogTail(64)
	l.Write([]byte("hello\n"))
	if s := l.String(); s != "hello\n" {
		t.Fatalf("String() = %q", s)
	}
	for i := 0; i < 100; i++ {
		l.Write([]byte("0123456789\n"))
	}
	l.Write([]byte("the end é\n"))
	s := l.String()
	if len(s) > 64 || !strings.HasPrefix(s, droppedMarker) || !strings.HasSuffix(s, "0123456789\nthe end é\n") {
		t.Errorf("String() = %q (%d bytes)", s, len(s))
	}
	big := strings.Repeat("x", 200) + "tail"
	l.Write([]byte(big))
	if tail, dropped := l.tail(64); !dropped || len(tail) != 64 || !strings.HasSuffix(tail, "xtail") {
		t.Errorf("tail = %q, %v", tail, dropped)
	}
}
