package jobs

import (
	"encoding/json"
	"strings"
	"time"
)

// CallMode is how an invocation answers its caller (docs/api.md §2–§9).
type CallMode string

// The call modes.
const (
	AsyncRequestReply CallMode = "AsyncRequestReply"
	FireAndForget     CallMode = "FireAndForget"
	LongPolling       CallMode = "LongPolling"
)

// ParseCallMode matches name case-insensitively against the three call modes.
func ParseCallMode(name string) (CallMode, bool) {
	for _, m := range []CallMode{AsyncRequestReply, FireAndForget, LongPolling} {
		if strings.EqualFold(string(m), name) {
			return m, true
		}
	}
	return "", false
}

// Source types of a job.
const (
	SourceTypeAPITrigger = "ApiTrigger"
	SourceTypeManual     = "Manual"
)

// Tenant names one tenant of one organisation.
type Tenant struct {
	Org    string
	Tenant string
}

// String returns "org/tenant".
func (t Tenant) String() string { return t.Org + "/" + t.Tenant }

// Release is a job's process reference, as UiPath payloads carry it.
type Release struct {
	ID         int64  `json:"Id"`
	Key        string `json:"Key"`
	ProcessKey string `json:"ProcessKey"`
}

// RobotRef names the robot that runs (or ran) a job.
type RobotRef struct {
	ID          int64  `json:"Id"`
	Name        string `json:"Name"`
	MachineName string `json:"MachineName"`
}

// Progress is what a running job last reported of its progress.
type Progress struct {
	Percent int    `json:"Percent"`
	Message string `json:"Message,omitempty"`
}

// StopStrategy is how a stop request ends a job.
type StopStrategy string

// The stop strategies (UiPath names).
const (
	SoftStop StopStrategy = "SoftStop"
	Kill     StopStrategy = "Kill"
)

// Job is one run of a process. Exported JSON fields follow docs/api.md §14.
type Job struct {
	ID              int64          `json:"Id"`
	Key             string         `json:"Key"`
	State           State          `json:"State"`
	CreationTime    time.Time      `json:"CreationTime"`
	StartTime       *time.Time     `json:"StartTime"`
	EndTime         *time.Time     `json:"EndTime"`
	Info            string         `json:"Info"`
	InputArguments  map[string]any `json:"InputArguments"`
	OutputArguments map[string]any `json:"OutputArguments"`
	ReleaseName     string         `json:"ReleaseName"`
	Release         Release        `json:"Release"`
	Robot           *RobotRef      `json:"Robot"`
	Source          string         `json:"Source"`
	SourceType      string         `json:"SourceType"`
	CallMode        CallMode       `json:"CallMode"`
	TriggerSlug     string         `json:"TriggerSlug"`
	Progress        *Progress      `json:"Progress,omitempty"`

	// Org and Tenant own the job; they are in the URL, not the payload.
	Org    string `json:"-"`
	Tenant string `json:"-"`
	// Deadline, when set, is when a still-running job is killed and ends Faulted (the
	// LongPolling cap). Internal.
	Deadline *time.Time `json:"-"`
	// DeadlineInfo is the Info a job gets when its deadline passes. Internal.
	DeadlineInfo string `json:"-"`
	// StopStrategy is set once a stop was requested. Internal.
	StopStrategy StopStrategy `json:"-"`
	// LeaseOwner and LeaseExpiry belong to the robot slot running the job. Internal.
	LeaseOwner  string    `json:"-"`
	LeaseExpiry time.Time `json:"-"`
	// ProcessName is the process's name in the tenant's catalogue. Internal.
	ProcessName string `json:"-"`
}

// MarshalJSON renders the job as every API shows it. A final job without output arguments
// (Faulted, Stopped, or Successful with none) shows `"OutputArguments": {}`, not null, as
// UiPath's job payloads do; a job not final yet shows null.
func (j Job) MarshalJSON() ([]byte, error) {
	type plain Job // without this method
	p := plain(j)
	if p.OutputArguments == nil && p.State.Final() {
		p.OutputArguments = map[string]any{}
	}
	return json.Marshal(p)
}

// TenantRef returns the job's tenant.
func (j *Job) TenantRef() Tenant { return Tenant{Org: j.Org, Tenant: j.Tenant} }

// Result is how a robot's run of a job ended.
type Result struct {
	State           State
	Info            string
	OutputArguments map[string]any
	// Log, when not empty, replaces the job's stored log (the tail of its output).
	Log string
}
