package jobs

import "strings"

// State is a job's lifecycle state (docs/api.md §14).
type State string

// The states of a job.
const (
	Pending     State = "Pending"
	Running     State = "Running"
	Stopping    State = "Stopping"
	Terminating State = "Terminating"
	Successful  State = "Successful"
	Faulted     State = "Faulted"
	Stopped     State = "Stopped"
)

// States lists every state, in lifecycle order.
var States = []State{Pending, Running, Stopping, Terminating, Successful, Faulted, Stopped}

// Final reports whether s is an end state: the job will never change again.
func (s State) Final() bool {
	return s == Successful || s == Faulted || s == Stopped
}

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	for _, v := range States {
		if v == s {
			return true
		}
	}
	return false
}

// ParseState matches name case-insensitively against the known states.
func ParseState(name string) (State, bool) {
	for _, v := range States {
		if strings.EqualFold(string(v), name) {
			return v, true
		}
	}
	return "", false
}

// transitions is the table of legal state changes. A robot holding the lease moves
// Running/Stopping/Terminating jobs to an end state; a stop request moves Pending straight to
// Stopped (nothing runs yet) and Running to Stopping or Terminating; a robot handing a job back
// on shutdown moves Running to Pending; the reaper faults jobs whose lease lapsed or whose
// deadline passed.
var transitions = map[State][]State{
	Pending:     {Running, Stopped, Faulted},
	Running:     {Successful, Faulted, Stopping, Terminating, Stopped, Pending},
	Stopping:    {Stopped, Terminating, Successful, Faulted},
	Terminating: {Stopped, Faulted},
}

// CanTransition reports whether a job may move from one state to another.
func CanTransition(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}
