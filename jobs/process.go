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

// Process is something a robot can run: a builtin Go function or (later) a command.
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
}
