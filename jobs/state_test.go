package jobs

import "testing"

func TestCanTransition_FollowsTheLifecycle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		givenFrom   State
		givenTo     State
		expectLegal bool
	}{
		// Every legal change.
		{name: "robot claims a pending job", givenFrom: Pending, givenTo: Running, expectLegal: true},
		{name: "stop request on a pending job stops it at once", givenFrom: Pending, givenTo: Stopped, expectLegal: true},
		{name: "reaper faults a pending job past its deadline", givenFrom: Pending, givenTo: Faulted, expectLegal: true},
		{name: "running job succeeds", givenFrom: Running, givenTo: Successful, expectLegal: true},
		{name: "running job faults", givenFrom: Running, givenTo: Faulted, expectLegal: true},
		{name: "soft stop of a running job", givenFrom: Running, givenTo: Stopping, expectLegal: true},
		{name: "kill of a running job", givenFrom: Running, givenTo: Terminating, expectLegal: true},
		{name: "running job stopped", givenFrom: Running, givenTo: Stopped, expectLegal: true},
		{name: "robot hands a running job back on shutdown", givenFrom: Running, givenTo: Pending, expectLegal: true},
		{name: "stopping job stops", givenFrom: Stopping, givenTo: Stopped, expectLegal: true},
		{name: "stopping job killed", givenFrom: Stopping, givenTo: Terminating, expectLegal: true},
		{name: "stopping job finishes anyway", givenFrom: Stopping, givenTo: Successful, expectLegal: true},
		{name: "stopping job faults", givenFrom: Stopping, givenTo: Faulted, expectLegal: true},
		{name: "terminating job stops", givenFrom: Terminating, givenTo: Stopped, expectLegal: true},
		{name: "terminating job faults", givenFrom: Terminating, givenTo: Faulted, expectLegal: true},

		// A selection of illegal changes.
		{name: "successful job never runs again", givenFrom: Successful, givenTo: Running},
		{name: "faulted job never turns successful", givenFrom: Faulted, givenTo: Successful},
		{name: "stopped job never goes back to pending", givenFrom: Stopped, givenTo: Pending},
		{name: "successful job never faults", givenFrom: Successful, givenTo: Faulted},
		{name: "pending job cannot succeed without running", givenFrom: Pending, givenTo: Successful},
		{name: "pending job cannot be stopping", givenFrom: Pending, givenTo: Stopping},
		{name: "pending job cannot be terminating", givenFrom: Pending, givenTo: Terminating},
		{name: "stopping job cannot run again", givenFrom: Stopping, givenTo: Running},
		{name: "stopping job cannot go back to pending", givenFrom: Stopping, givenTo: Pending},
		{name: "terminating job cannot succeed", givenFrom: Terminating, givenTo: Successful},
		{name: "terminating job cannot soften to stopping", givenFrom: Terminating, givenTo: Stopping},
		{name: "terminating job cannot run again", givenFrom: Terminating, givenTo: Running},
		{name: "pending to pending is no transition", givenFrom: Pending, givenTo: Pending},
		{name: "running to running is no transition", givenFrom: Running, givenTo: Running},
		{name: "unknown source state", givenFrom: State("Queued"), givenTo: Running},
		{name: "unknown target state", givenFrom: Running, givenTo: State("Done")},
		{name: "state names are exact here", givenFrom: State("pending"), givenTo: Running},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := CanTransition(tt.givenFrom, tt.givenTo); got != tt.expectLegal {
				t.Fatalf("CanTransition(%s, %s) = %v, want %v", tt.givenFrom, tt.givenTo, got, tt.expectLegal)
			}
		})
	}
}

func TestCanTransition_NothingLeavesAFinalState(t *testing.T) {
	t.Parallel()
	for _, from := range States {
		if !from.Final() {
			continue
		}
		for _, to := range States {
			if CanTransition(from, to) {
				t.Errorf("CanTransition(%s, %s) = true, but %s is final", from, to, from)
			}
		}
	}
}

func TestState_Final(t *testing.T) {
	t.Parallel()
	tests := []struct {
		givenState  State
		expectFinal bool
	}{
		{givenState: Pending},
		{givenState: Running},
		{givenState: Stopping},
		{givenState: Terminating},
		{givenState: Successful, expectFinal: true},
		{givenState: Faulted, expectFinal: true},
		{givenState: Stopped, expectFinal: true},
		{givenState: State("successful")},
		{givenState: State("")},
	}
	for _, tt := range tests {
		t.Run(string(tt.givenState), func(t *testing.T) {
			t.Parallel()
			if got := tt.givenState.Final(); got != tt.expectFinal {
				t.Fatalf("%q.Final() = %v, want %v", tt.givenState, got, tt.expectFinal)
			}
		})
	}
}

func TestState_ValidForEveryContractState(t *testing.T) {
	t.Parallel()
	contract := []State{"Pending", "Running", "Stopping", "Terminating", "Successful", "Faulted", "Stopped"}
	if len(States) != len(contract) {
		t.Fatalf("States = %v, want the %d states of docs/api.md §14", States, len(contract))
	}
	for _, s := range contract {
		if !s.Valid() {
			t.Errorf("%q.Valid() = false", s)
		}
	}
	for _, s := range []State{"", "pending", "Done", "Queued"} {
		if s.Valid() {
			t.Errorf("%q.Valid() = true", s)
		}
	}
}

func TestParseState_IsCaseInsensitive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		givenName   string
		expectState State
		expectOK    bool
	}{
		{givenName: "Pending", expectState: Pending, expectOK: true},
		{givenName: "running", expectState: Running, expectOK: true},
		{givenName: "STOPPING", expectState: Stopping, expectOK: true},
		{givenName: "terminating", expectState: Terminating, expectOK: true},
		{givenName: "sUcCeSsFuL", expectState: Successful, expectOK: true},
		{givenName: "faulted", expectState: Faulted, expectOK: true},
		{givenName: "Stopped", expectState: Stopped, expectOK: true},
		{givenName: ""},
		{givenName: "Done"},
		{givenName: " Pending"},
		{givenName: "Pending "},
		{givenName: "Stop"},
	}
	for _, tt := range tests {
		t.Run(tt.givenName, func(t *testing.T) {
			t.Parallel()
			got, ok := ParseState(tt.givenName)
			if got != tt.expectState || ok != tt.expectOK {
				t.Fatalf("ParseState(%q) = %q, %v; want %q, %v", tt.givenName, got, ok, tt.expectState, tt.expectOK)
			}
		})
	}
}

func TestParseCallMode_IsCaseInsensitive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		givenName  string
		expectMode CallMode
		expectOK   bool
	}{
		{givenName: "AsyncRequestReply", expectMode: AsyncRequestReply, expectOK: true},
		{givenName: "asyncrequestreply", expectMode: AsyncRequestReply, expectOK: true},
		{givenName: "FireAndForget", expectMode: FireAndForget, expectOK: true},
		{givenName: "FIREANDFORGET", expectMode: FireAndForget, expectOK: true},
		{givenName: "LongPolling", expectMode: LongPolling, expectOK: true},
		{givenName: "longPolling", expectMode: LongPolling, expectOK: true},
		{givenName: ""},
		{givenName: "Sync"},
		{givenName: "Long Polling"},
		{givenName: "LongPolling "},
		{givenName: "respond-async"},
	}
	for _, tt := range tests {
		t.Run(tt.givenName, func(t *testing.T) {
			t.Parallel()
			got, ok := ParseCallMode(tt.givenName)
			if got != tt.expectMode || ok != tt.expectOK {
				t.Fatalf("ParseCallMode(%q) = %q, %v; want %q, %v", tt.givenName, got, ok, tt.expectMode, tt.expectOK)
			}
		})
	}
}
