package trigger

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

const (
	testHop    = 50 * time.Second
	testHopMax = 10 * time.Minute
)

func TestSelectMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		givenExplicit    string
		givenHasExplicit bool
		givenPrefer      []string
		givenDefault     jobs.CallMode
		expectMode       jobs.CallMode
		expectFirstHop   time.Duration // checked for LongPolling only
		expectApplied    string
	}{
		// $callMode first.
		{name: "a wait too large for int64 is capped by the hop maximum", givenPrefer: []string{"wait=99999999999999999999"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: testHopMax, expectApplied: "wait=600"},
		{name: "$callMode wins over Prefer respond-async", givenExplicit: "LongPolling", givenHasExplicit: true, givenPrefer: []string{"respond-async"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: testHop},
		{name: "$callMode wins over Prefer wait", givenExplicit: "FireAndForget", givenHasExplicit: true, givenPrefer: []string{"wait=10"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.FireAndForget},
		{name: "$callMode wins over the default", givenExplicit: "AsyncRequestReply", givenHasExplicit: true, givenDefault: jobs.LongPolling, expectMode: jobs.AsyncRequestReply},
		{name: "$callMode lower case", givenExplicit: "longpolling", givenHasExplicit: true, givenDefault: jobs.FireAndForget, expectMode: jobs.LongPolling, expectFirstHop: testHop},
		{name: "$callMode upper case", givenExplicit: "FIREANDFORGET", givenHasExplicit: true, givenDefault: jobs.LongPolling, expectMode: jobs.FireAndForget},
		{name: "$callMode mixed case", givenExplicit: "asyncRequestreply", givenHasExplicit: true, givenDefault: jobs.FireAndForget, expectMode: jobs.AsyncRequestReply},
		{name: "explicit text ignored when no $callMode was given", givenExplicit: "Bogus", givenDefault: jobs.FireAndForget, expectMode: jobs.FireAndForget},

		// Then Prefer (RFC 7240).
		{name: "respond-async asks for AsyncRequestReply", givenPrefer: []string{"respond-async"}, givenDefault: jobs.LongPolling, expectMode: jobs.AsyncRequestReply, expectApplied: "respond-async"},
		{name: "respond-async matched case-insensitively", givenPrefer: []string{"Respond-Async"}, givenDefault: jobs.FireAndForget, expectMode: jobs.AsyncRequestReply, expectApplied: "respond-async"},
		{name: "wait below the hop is the first hop", givenPrefer: []string{"wait=10"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: 10 * time.Second, expectApplied: "wait=10"},
		{name: "wait above the hop is honoured up to the hop maximum", givenPrefer: []string{"wait=100"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: 100 * time.Second, expectApplied: "wait=100"},
		{name: "wait above the hop maximum is cut to it", givenPrefer: []string{"wait=601"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: testHopMax, expectApplied: "wait=600"},
		{name: "wait equal to the hop", givenPrefer: []string{"wait=50"}, givenDefault: jobs.FireAndForget, expectMode: jobs.LongPolling, expectFirstHop: testHop, expectApplied: "wait=50"},
		{name: "wait=0 answers at once", givenPrefer: []string{"wait=0"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: 0, expectApplied: "wait=0"},
		{name: "huge wait cut to the hop maximum", givenPrefer: []string{"wait=99999999999"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: testHopMax, expectApplied: "wait=600"},
		{name: "WAIT matched case-insensitively", givenPrefer: []string{"WAIT=5"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: 5 * time.Second, expectApplied: "wait=5"},
		{name: "respond-async with wait in one header", givenPrefer: []string{"respond-async, wait=10"}, givenDefault: jobs.LongPolling, expectMode: jobs.AsyncRequestReply, expectApplied: "respond-async"},
		{name: "wait before respond-async in separate headers", givenPrefer: []string{"wait=10", "respond-async"}, givenDefault: jobs.FireAndForget, expectMode: jobs.AsyncRequestReply, expectApplied: "respond-async"},
		{name: "wait in a second Prefer header", givenPrefer: []string{"handling=lenient", "wait=20"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: 20 * time.Second, expectApplied: "wait=20"},
		{name: "wait in a comma list", givenPrefer: []string{"return=minimal, wait=5 ,handling=strict"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: 5 * time.Second, expectApplied: "wait=5"},
		{name: "first wait counts", givenPrefer: []string{"wait=5, wait=20"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: 5 * time.Second, expectApplied: "wait=5"},
		{name: "first wait counts across headers", givenPrefer: []string{"wait=7", "wait=30"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: 7 * time.Second, expectApplied: "wait=7"},
		{name: "parameters after ; ignored on wait", givenPrefer: []string{"wait=10; foo=bar"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: 10 * time.Second, expectApplied: "wait=10"},
		{name: "parameters after ; ignored on respond-async", givenPrefer: []string{"respond-async;x=1"}, givenDefault: jobs.FireAndForget, expectMode: jobs.AsyncRequestReply, expectApplied: "respond-async"},
		{name: "quoted wait value", givenPrefer: []string{`wait="15"`}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: 15 * time.Second, expectApplied: "wait=15"},
		{name: "spaces around =", givenPrefer: []string{"wait = 12"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.LongPolling, expectFirstHop: 12 * time.Second, expectApplied: "wait=12"},

		// Malformed and unknown preferences are ignored: the default applies.
		{name: "wait=abc ignored", givenPrefer: []string{"wait=abc"}, givenDefault: jobs.FireAndForget, expectMode: jobs.FireAndForget},
		{name: "wait=-1 ignored", givenPrefer: []string{"wait=-1"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.AsyncRequestReply},
		{name: "wait=1.5 ignored", givenPrefer: []string{"wait=1.5"}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.AsyncRequestReply},
		{name: "wait without a value ignored", givenPrefer: []string{"wait"}, givenDefault: jobs.FireAndForget, expectMode: jobs.FireAndForget},
		{name: "empty wait ignored", givenPrefer: []string{"wait="}, givenDefault: jobs.FireAndForget, expectMode: jobs.FireAndForget},
		{name: "unknown preferences ignored", givenPrefer: []string{"return=minimal", "handling=strict, foo"}, givenDefault: jobs.FireAndForget, expectMode: jobs.FireAndForget},
		{name: "preference name must match whole", givenPrefer: []string{"respond-asyncx, xwait=5"}, givenDefault: jobs.FireAndForget, expectMode: jobs.FireAndForget},
		{name: "empty Prefer header", givenPrefer: []string{""}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.AsyncRequestReply},
		{name: "only commas and semicolons", givenPrefer: []string{" , ;, "}, givenDefault: jobs.AsyncRequestReply, expectMode: jobs.AsyncRequestReply},

		// Then the trigger's default.
		{name: "default AsyncRequestReply", givenDefault: jobs.AsyncRequestReply, expectMode: jobs.AsyncRequestReply},
		{name: "default FireAndForget", givenDefault: jobs.FireAndForget, expectMode: jobs.FireAndForget},
		{name: "default LongPolling holds for a full hop", givenDefault: jobs.LongPolling, expectMode: jobs.LongPolling, expectFirstHop: testHop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := SelectMode(tt.givenExplicit, tt.givenHasExplicit, tt.givenPrefer, tt.givenDefault, testHop, testHopMax)
			if err != nil {
				t.Fatalf("SelectMode: %v", err)
			}
			if got.Mode != tt.expectMode {
				t.Errorf("Mode = %q, want %q", got.Mode, tt.expectMode)
			}
			if tt.expectMode == jobs.LongPolling && got.FirstHop != tt.expectFirstHop {
				t.Errorf("FirstHop = %v, want %v", got.FirstHop, tt.expectFirstHop)
			}
			if got.Applied != tt.expectApplied {
				t.Errorf("Applied = %q, want %q", got.Applied, tt.expectApplied)
			}
		})
	}
}

func TestSelectMode_UnknownCallModeIsInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		givenExplicit string
		givenPrefer   []string
	}{
		{name: "unknown name", givenExplicit: "Sync"},
		{name: "empty name", givenExplicit: ""},
		{name: "a Prefer token is not a call mode", givenExplicit: "respond-async"},
		{name: "unknown name with a valid Prefer", givenExplicit: "Polling", givenPrefer: []string{"wait=10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := SelectMode(tt.givenExplicit, true, tt.givenPrefer, jobs.AsyncRequestReply, testHop, testHopMax)
			var e *jobs.Error
			if !errors.As(err, &e) {
				t.Fatalf("error = %v (%T), want *jobs.Error", err, err)
			}
			if e.Code != jobs.EINVALID {
				t.Errorf("code = %q, want %q", e.Code, jobs.EINVALID)
			}
			if len(e.Fields) != 1 || e.Fields[0].Name != "$callMode" {
				t.Errorf("fields = %+v, want one naming $callMode", e.Fields)
			}
			if !strings.Contains(e.Message, strconv.Quote(tt.givenExplicit)) {
				t.Errorf("message %q does not quote the given mode %q", e.Message, tt.givenExplicit)
			}
			if got != (ModeChoice{}) {
				t.Errorf("choice = %+v with an error", got)
			}
		})
	}
}

// FuzzSelectMode feeds arbitrary $callMode values and Prefer headers to SelectMode. It must
// never panic, always pick one of the three modes, keep the first hop within [0, max(hop, hopMax)], fail
// only on an explicit $callMode (and then with EINVALID naming it), and report a preference as
// applied only when one decided the mode.
func FuzzSelectMode(f *testing.F) {
	seeds := []struct {
		explicit    string
		hasExplicit bool
		prefer1     string
		prefer2     string
		def         uint8
	}{
		{"LongPolling", true, "respond-async", "", 0},
		{"fireandforget", true, "wait=10", "", 1},
		{"Sync", true, "", "", 2},
		{"", true, "", "", 0},
		{"", false, "respond-async", "", 2},
		{"", false, "wait=10", "", 0},
		{"", false, "wait=100", "", 1},
		{"", false, "respond-async, wait=10", "", 2},
		{"", false, "handling=lenient", "wait=5;x=y", 0},
		{"", false, `wait="15"`, "", 0},
		{"", false, "wait=abc", "wait=5", 0},
		{"", false, "wait=-1", "", 1},
		{"", false, "wait=9223372036854775807", "", 2},
		{"", false, "wait=99999999999999999999", "", 2},
		{"", false, "wait=+5", "wait=0", 0},
		{"", false, "return=minimal,,;,=", "\x00\xff", 1},
		{"", false, "WAIT = \"7\" ; a ; b", "", 1},
	}
	for _, s := range seeds {
		f.Add(s.explicit, s.hasExplicit, s.prefer1, s.prefer2, s.def)
	}
	modes := []jobs.CallMode{jobs.AsyncRequestReply, jobs.FireAndForget, jobs.LongPolling}
	f.Fuzz(func(t *testing.T, explicit string, hasExplicit bool, prefer1, prefer2 string, def uint8) {
		defMode := modes[int(def)%len(modes)]
		got, err := SelectMode(explicit, hasExplicit, []string{prefer1, prefer2}, defMode, testHop, testHopMax)
		if err != nil {
			if !hasExplicit {
				t.Fatalf("error %v without an explicit $callMode", err)
			}
			var e *jobs.Error
			if !errors.As(err, &e) || e.Code != jobs.EINVALID || len(e.Fields) != 1 || e.Fields[0].Name != "$callMode" {
				t.Fatalf("error %#v is not EINVALID naming $callMode", err)
			}
			if _, ok := jobs.ParseCallMode(explicit); ok {
				t.Fatalf("known mode %q refused: %v", explicit, err)
			}
			return
		}
		if got.Mode != jobs.AsyncRequestReply && got.Mode != jobs.FireAndForget && got.Mode != jobs.LongPolling {
			t.Fatalf("Mode = %q", got.Mode)
		}
		if got.FirstHop < 0 || got.FirstHop > max(testHop, testHopMax) {
			t.Fatalf("FirstHop = %v outside [0, %v]", got.FirstHop, max(testHop, testHopMax))
		}
		if hasExplicit {
			if want, _ := jobs.ParseCallMode(explicit); got.Mode != want || got.Applied != "" {
				t.Fatalf("explicit %q gave %+v", explicit, got)
			}
			return
		}
		switch got.Applied {
		case "":
			if got.Mode != defMode {
				t.Fatalf("Mode %q without an applied preference, default %q", got.Mode, defMode)
			}
		case "respond-async":
			if got.Mode != jobs.AsyncRequestReply {
				t.Fatalf("respond-async applied with Mode %q", got.Mode)
			}
		default:
			want := "wait=" + strconv.FormatInt(int64(got.FirstHop/time.Second), 10)
			if got.Mode != jobs.LongPolling || got.Applied != want {
				t.Fatalf("Applied %q with %+v, want LongPolling and %q", got.Applied, got, want)
			}
		}
	})
}
