package client

import (
	"fmt"
	"net/url"
	"time"
)

// Step is the stage of a call a request belongs to; it decides what a 200 means.
type Step int

// The steps of a call.
const (
	// StepInvoke is the invocation: 200 is FireAndForget (empty) or the output.
	StepInvoke Step = iota
	// StepPoll is a GET of the status resource: 200 means the job still runs.
	StepPoll
	// StepHop is a LongPolling hop: 200 is the output, a redirect the next hop.
	StepHop
	// StepOutput is a GET of the output resource.
	StepOutput
)

// Event reports one step of a call to the WithProgress callback: once before its request
// (Answered false) and once with its answer.
type Event struct {
	Step Step
	// N counts polls (StepPoll) or hops (StepHop) from 1.
	N      int
	Method string
	// URL is the request's URL; show it with Redact.
	URL      *url.URL
	Answered bool
	// Status is the answer's HTTP status (0 before it, or when no answer came).
	Status int
	// Job is what a 202 or a running job's status said about the job.
	Job *JobSummary
	// Next is where the call goes next, if anywhere.
	Next *url.URL
	// Wait is how long the call waits before requesting Next.
	Wait time.Duration
}

// JobSummary is what the 202 answer and the status resource say about a job.
type JobSummary struct {
	Key      string `json:"Key"`
	ID       int64  `json:"Id"`
	State    string `json:"State"`
	Progress *struct {
		Percent int    `json:"Percent"`
		Message string `json:"Message"`
	} `json:"Progress"`
}

// String renders the summary for a progress line: "Running 40% step 2".
func (s JobSummary) String() string {
	if s.State == "" {
		return "(no job state in the answer)"
	}
	d := s.State
	if p := s.Progress; p != nil {
		d += fmt.Sprintf(" %d%%", p.Percent)
		if p.Message != "" {
			d += " " + p.Message
		}
	}
	return d
}
