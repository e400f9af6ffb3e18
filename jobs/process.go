package jobs

import "time"

// ArgumentType is the declared type of a process argument (docs/configuration.md, "The config file").
type ArgumentType string

// The argument types.
const (
	TypeString  ArgumentType = "string"
	TypeNumber  ArgumentType = "number"
	TypeInteger ArgumentType = "integer"
	TypeBoolean ArgumentType = "boolean"
	TypeObject  ArgumentType = "object"
	TypeArray   ArgumentType = "array"
)

// Valid reports whether t is one of the known argument types.
func (t ArgumentType) Valid() bool {
	switch t {
	case TypeString, TypeNumber, TypeInteger, TypeBoolean, TypeObject, TypeArray:
		return true
	}
	return false
}

// Argument declares one input argument of a process.
type Argument struct {
	Type     ArgumentType `json:"Type"`
	Required bool         `json:"Required"`
	// Default is used when neither the call nor the trigger gives a value. Optional.
	Default any `json:"Default,omitempty"`
}

// Where a resource was declared.
const (
	SourceConfig = "Config"
	SourceAPI    = "Api"
)

// Process is something a robot can run: a builtin Go function or a command.
type Process struct {
	ID          int64               `json:"Id"`
	Key         string              `json:"Key"`
	Name        string              `json:"Name"`
	ProcessKey  string              `json:"ProcessKey"`
	Description string              `json:"Description"`
	Builtin     string              `json:"Builtin,omitempty"`
	Command     []string            `json:"Command,omitempty"`
	Env         map[string]string   `json:"Env,omitempty"`
	WorkingDir  string              `json:"WorkingDir,omitempty"`
	Timeout     time.Duration       `json:"-"`
	Arguments   map[string]Argument `json:"Arguments"`
	Source      string              `json:"Source"`
	// File names the config file that declared the process, when Source is SourceConfig.
	File string `json:"-"`
	// The sandbox of a command process: only the config file sets these.
	//
	// User, when set, runs the command as this user instead of a uid of the sandbox range.
	User *RunAs `json:"-"`
	// HostNetwork runs the command in the host's network namespace instead of one with
	// only loopback.
	HostNetwork bool `json:"-"`
	// Limits are the command's rlimits; nil = the server's defaults.
	Limits *Limits `json:"-"`
}

// Limits bound what a command process may use (rlimits of each of its processes). A zero
// field takes the server's default.
type Limits struct {
	// CPUTime is the CPU time each process may use (RLIMIT_CPU, whole seconds).
	CPUTime time.Duration `json:"CpuTime,omitempty"`
	// Memory is the address space of each process, in bytes (RLIMIT_AS).
	Memory int64 `json:"Memory,omitempty"`
	// OpenFiles is how many files each process may have open (RLIMIT_NOFILE).
	OpenFiles int `json:"OpenFiles,omitempty"`
	// Processes is how many processes and threads the job's uid may have (RLIMIT_NPROC).
	Processes int `json:"Processes,omitempty"`
}

// Or returns l with each zero field taken from def.
func (l Limits) Or(def Limits) Limits {
	if l.CPUTime == 0 {
		l.CPUTime = def.CPUTime
	}
	if l.Memory == 0 {
		l.Memory = def.Memory
	}
	if l.OpenFiles == 0 {
		l.OpenFiles = def.OpenFiles
	}
	if l.Processes == 0 {
		l.Processes = def.Processes
	}
	return l
}

// RunAs is a fixed user a config-file command process runs as, instead of a uid of the
// sandbox range.
type RunAs struct {
	UID, GID uint32
	// Name is how the config file named the user, for messages.
	Name string
}
