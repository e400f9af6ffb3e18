package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/robot"
	"github.com/jobgate/jobgate/trigger"
)

// fileConfig is the YAML file of `serve --config` (docs/configuration.md, "The config file"). Keys are lowerCamelCase;
// unknown keys are errors.
type fileConfig struct {
	Tenants []fileTenant `yaml:"tenants"`
}

type fileTenant struct {
	Org       string        `yaml:"org"`
	Tenant    string        `yaml:"tenant"`
	Settings  *fileSettings `yaml:"settings"`
	Processes []fileProcess `yaml:"processes"`
	Triggers  []fileTrigger `yaml:"triggers"`
}

type fileSettings struct {
	RequireAuthOnRedirects *bool `yaml:"requireAuthOnRedirects"`
	RedirectStatus         *int  `yaml:"redirectStatus"`
	// The tenant's quotas (trigger.Quotas): the operator's alone.
	MaxPendingJobs    *int64 `yaml:"maxPendingJobs"`
	MaxHeldCalls      *int64 `yaml:"maxHeldCalls"`
	MaxStartJobsBytes *int64 `yaml:"maxStartJobsBytes"`
	// AllowAPICommands lets the tenant define command releases through the API. Operator
	// only: not part of the call-mode settings the API may own. Default false.
	AllowAPICommands *bool `yaml:"allowApiCommands"`
}

type fileProcess struct {
	Key         string                  `yaml:"key"`
	Description string                  `yaml:"description"`
	Builtin     string                  `yaml:"builtin"`
	Command     []string                `yaml:"command"`
	Env         map[string]string       `yaml:"env"`
	WorkingDir  string                  `yaml:"workingDir"`
	Timeout     string                  `yaml:"timeout"`
	Arguments   map[string]fileArgument `yaml:"arguments"`
	User        string                  `yaml:"user"`
	Network     string                  `yaml:"network"`
	Limits      *fileLimits             `yaml:"limits"`
}

// fileLimits are a command process's rlimits; absent keys take the server's defaults.
type fileLimits struct {
	CPUTime   string `yaml:"cpuTime"`   // Go duration, e.g. 10m
	Memory    string `yaml:"memory"`    // bytes with an optional KiB, MiB, GiB suffix
	OpenFiles int    `yaml:"openFiles"` // RLIMIT_NOFILE
	Processes int    `yaml:"processes"` // RLIMIT_NPROC of the job's uid
}

type fileArgument struct {
	Type     string `yaml:"type"`
	Required bool   `yaml:"required"`
	Default  any    `yaml:"default"`
}

type fileTrigger struct {
	Slug      string         `yaml:"slug"`
	Process   string         `yaml:"process"`
	Method    string         `yaml:"method"`
	CallMode  string         `yaml:"callMode"`
	Enabled   *bool          `yaml:"enabled"`
	Arguments map[string]any `yaml:"arguments"`
}

// loadConfigFile reads the YAML file into the catalogue. Every error names the file and,
// where it can, the line.
func loadConfigFile(path string, cat *trigger.Catalog, builtins map[string]robot.Builtin) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var cfg fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = unknownField.ReplaceAllString(msg, `unknown key "$1" (keys are lowerCamelCase; see docs/configuration.md)`)
		msg = wrongShape.ReplaceAllStringFunc(msg, explainShape)
		return fmt.Errorf("config %s: %s", path, msg)
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	at := func(p ...any) string {
		if line := lineOf(&root, p...); line > 0 {
			return fmt.Sprintf("%s:%d", path, line)
		}
		return path
	}
	for ti, ft := range cfg.Tenants {
		t := jobs.Tenant{Org: ft.Org, Tenant: ft.Tenant}
		if err := cat.AddTenant(t); err != nil {
			return fmt.Errorf("config %s: tenants[%d]: %s", at("tenants", ti), ti, jobs.ErrorMessage(err))
		}
		if err := ft.Settings.setQuotas(cat, t); err != nil {
			return fmt.Errorf("config %s: tenants[%d].settings: %s", at("tenants", ti, "settings"), ti, jobs.ErrorMessage(err))
		}
		if ft.Settings != nil && ft.Settings.AllowAPICommands != nil {
			_ = cat.AllowAPICommands(t, *ft.Settings.AllowAPICommands)
		}
		// Quotas and allowApiCommands alone leave the call-mode settings to the API.
		if ft.Settings != nil && !ft.Settings.operatorOnly() {
			s := callmode.DefaultSettings()
			if ft.Settings.RequireAuthOnRedirects != nil {
				s.RequireAuthOnRedirects = *ft.Settings.RequireAuthOnRedirects
			}
			if ft.Settings.RedirectStatus != nil {
				s.RedirectStatus = *ft.Settings.RedirectStatus
			}
			if err := cat.SetSettings(t, s); err != nil {
				return fmt.Errorf("config %s: tenants[%d].settings: %s", at("tenants", ti, "settings"), ti, jobs.ErrorMessage(err))
			}
		}
		for pi, fp := range ft.Processes {
			p, field, err := fp.process(builtins)
			if err == nil {
				p.Source, p.File = jobs.SourceConfig, path
				err = cat.AddProcess(t, p)
			}
			if err != nil {
				where := at(append([]any{"tenants", ti, "processes", pi}, field...)...)
				return fmt.Errorf("config %s: tenants[%d].processes[%d]: %s", where, ti, pi, jobs.ErrorMessage(err))
			}
		}
		for ri, fr := range ft.Triggers {
			where := at("tenants", ti, "triggers", ri)
			tr := trigger.Trigger{
				Key: uuid.NewString(), Slug: fr.Slug, ReleaseName: fr.Process, Method: fr.Method,
				CallMode: jobs.CallMode(fr.CallMode), Enabled: fr.Enabled == nil || *fr.Enabled,
				Arguments: fr.Arguments, Source: jobs.SourceConfig, File: path,
			}
			if err := cat.AddTrigger(t, tr); err != nil {
				return fmt.Errorf("config %s: tenants[%d].triggers[%d]: %s", where, ti, ri, jobs.ErrorMessage(err))
			}
		}
	}
	return nil
}

// unknownField matches yaml.v3's message for a key that no struct field takes.
var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// wrongShape matches yaml.v3's message for a value of the wrong kind, e.g. a string where
// a list is wanted.
var wrongShape = regexp.MustCompile("cannot unmarshal !!(\\w+) (`[^`]*` )?into (\\S+)")

// shapes says in words what the config's Go types want.
var shapes = map[string]string{
	"[]string":                     `a list, e.g. command: ["./report.sh", "--fast"]`,
	"map[string]string":            `a map of names to text, e.g. env: {REGION: eu}`,
	"map[string]main.fileArgument": `a map of argument names to declarations, e.g. arguments: {name: {type: string}}`,
	"map[string]interface {}":      `a map, e.g. arguments: {y: 1}`,
}

// explainShape rewrites one wrongShape message for the config's types it knows.
func explainShape(msg string) string {
	m := wrongShape.FindStringSubmatch(msg)
	want, ok := shapes[m[3]]
	if !ok {
		return msg
	}
	got := map[string]string{"str": "text", "seq": "list", "map": "map", "int": "number", "float": "number", "bool": "boolean"}[m[1]]
	if got == "" {
		got = m[1]
	}
	return fmt.Sprintf("%s is not accepted here: want %s", got, want)
}

// process turns a declared process into the catalogue's form. On error it also returns the
// path, below the process, of the key at fault (for the error's line).
func (fp fileProcess) process(builtins map[string]robot.Builtin) (jobs.Process, []any, error) {
	p := jobs.Process{
		Key: uuid.NewString(), Name: fp.Key, ProcessKey: fp.Key, Description: fp.Description,
	}
	if fp.Key == "" {
		return p, nil, jobs.Errorf(jobs.EINVALID, "key (the process name) is required")
	}
	hasCommand := fp.Command != nil
	switch {
	case fp.Builtin != "" && hasCommand:
		return p, []any{"command"}, jobs.Errorf(jobs.EINVALID, "process %q has both builtin: and command:; give exactly one", fp.Key)
	case fp.Builtin == "" && !hasCommand:
		return p, nil, jobs.Errorf(jobs.EINVALID, "process %q needs builtin: (one of %s) or command: [program, args…]", fp.Key, builtinNames(builtins))
	case hasCommand:
		return fp.commandProcess(p)
	}
	b, ok := builtins[fp.Builtin]
	if !ok {
		return p, []any{"builtin"}, jobs.Errorf(jobs.EINVALID, "process %q: unknown builtin %q (use one of %s)", fp.Key, fp.Builtin, builtinNames(builtins))
	}
	for _, f := range []struct {
		key string
		set bool
	}{{"env", fp.Env != nil}, {"workingDir", fp.WorkingDir != ""}, {"timeout", fp.Timeout != ""},
		{"user", fp.User != ""}, {"network", fp.Network != ""}, {"limits", fp.Limits != nil}} {
		if f.set {
			return p, []any{f.key}, jobs.Errorf(jobs.EINVALID, "process %q: %s: applies to command processes only, not to a builtin", fp.Key, f.key)
		}
	}
	if fp.Arguments != nil {
		return p, []any{"arguments"}, jobs.Errorf(jobs.EINVALID, "process %q: a builtin process declares its own arguments; remove arguments:", fp.Key)
	}
	p.Builtin = fp.Builtin
	p.Arguments = b.Arguments
	return p, nil, nil
}

// commandProcess fills p from a declared command process. The command and working
// directory are used as given: jobgate neither resolves nor checks them at start.
func (fp fileProcess) commandProcess(p jobs.Process) (jobs.Process, []any, error) {
	if len(fp.Command) == 0 || fp.Command[0] == "" {
		return p, []any{"command"}, jobs.Errorf(jobs.EINVALID, "process %q: command: needs the program first, e.g. [\"./report.sh\", \"--fast\"]", fp.Key)
	}
	for _, name := range slices.Sorted(maps.Keys(fp.Env)) {
		switch {
		case name == "" || strings.ContainsAny(name, "=\x00"):
			return p, []any{"env"}, jobs.Errorf(jobs.EINVALID, "process %q: env: %q is not a variable name", fp.Key, name)
		case strings.HasPrefix(strings.ToUpper(name), "JOBGATE_"):
			return p, []any{"env", name}, jobs.Errorf(jobs.EINVALID, "process %q: env: %s: names starting with JOBGATE_ are set by jobgate", fp.Key, name)
		case strings.ContainsRune(fp.Env[name], 0):
			return p, []any{"env", name}, jobs.Errorf(jobs.EINVALID, "process %q: env: %s: a value cannot hold a NUL character", fp.Key, name)
		}
	}
	if fp.Timeout != "" {
		d, err := time.ParseDuration(fp.Timeout)
		if err != nil || d <= 0 {
			return p, []any{"timeout"}, jobs.Errorf(jobs.EINVALID, "process %q: timeout %q: want a positive Go duration such as 90s, 10m or 2h", fp.Key, fp.Timeout)
		}
		p.Timeout = d
	}
	p.Arguments = map[string]jobs.Argument{}
	for _, name := range slices.Sorted(maps.Keys(fp.Arguments)) {
		fa := fp.Arguments[name]
		a, field, err := fa.argument(name)
		if err != nil {
			return p, append([]any{"arguments", name}, field...), jobs.Errorf(jobs.EINVALID, "process %q: argument %q: %s", fp.Key, name, err)
		}
		p.Arguments[name] = a
	}
	p.Command = append([]string(nil), fp.Command...)
	p.Env = fp.Env
	p.WorkingDir = fp.WorkingDir
	return fp.sandboxOptions(p)
}

// argument checks one declared argument. On error it also returns the key at fault.
func (fa fileArgument) argument(name string) (jobs.Argument, []any, error) {
	a := jobs.Argument{Type: jobs.ArgumentType(fa.Type), Required: fa.Required}
	switch {
	case name == "" || strings.HasPrefix(name, "$"):
		return a, nil, fmt.Errorf("an argument name cannot be empty or start with $ (those keys of a call body are jobgate's)")
	case fa.Type == "":
		return a, nil, fmt.Errorf("type: is required (string, number, integer, boolean, object or array)")
	case !a.Type.Valid():
		return a, []any{"type"}, fmt.Errorf("unknown type %q (use string, number, integer, boolean, object or array)", fa.Type)
	}
	if fa.Default != nil {
		bound, err := jobs.BindArguments(map[string]jobs.Argument{name: {Type: a.Type}}, nil, map[string]any{name: fa.Default}, false)
		if err != nil {
			detail := jobs.ErrorMessage(err)
			var je *jobs.Error
			if errors.As(err, &je) && len(je.Fields) > 0 {
				detail = je.Fields[0].Detail
			}
			return a, []any{"default"}, fmt.Errorf("default: %s", detail)
		}
		a.Default = bound[name]
	}
	return a, nil, nil
}

func builtinNames(builtins map[string]robot.Builtin) string {
	return "Args_AddNumbers, FailingJob, Sleep, RunUntilStoppedManually"
}

// lineOf finds the line of the node at path (map keys as strings, sequence indexes as ints)
// in a parsed YAML document; 0 when it is not there.
func lineOf(root *yaml.Node, path ...any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, step := range path {
		switch s := step.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return 0
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == s {
					next = n.Content[i+1]
				}
			}
			if next == nil {
				return n.Line
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || s >= len(n.Content) {
				return n.Line
			}
			n = n.Content[s]
		}
	}
	return n.Line
}

// addDevSamples declares the samples of docs/configuration.md, "Dev samples" in tenant default/default.
func addDevSamples(cat *trigger.Catalog, builtins map[string]robot.Builtin) error {
	t := jobs.Tenant{Org: "default", Tenant: "default"}
	for _, name := range []string{"Args_AddNumbers", "FailingJob", "Sleep", "RunUntilStoppedManually"} {
		p := jobs.Process{Key: uuid.NewString(), Name: name, ProcessKey: name, Builtin: name,
			Arguments: builtins[name].Arguments, Source: jobs.SourceConfig, File: "--dev",
			Description: "built-in sample (--dev)"}
		if err := cat.AddProcess(t, p); err != nil {
			return fmt.Errorf("--dev samples: %s", jobs.ErrorMessage(err))
		}
	}
	for _, tr := range []trigger.Trigger{
		{Slug: "add", Method: "POST", ReleaseName: "Args_AddNumbers"},
		{Slug: "add-get", Method: "GET", ReleaseName: "Args_AddNumbers"},
		{Slug: "fail", Method: "POST", ReleaseName: "FailingJob"},
		{Slug: "sleep", Method: "POST", ReleaseName: "Sleep"},
		{Slug: "forever", Method: "POST", ReleaseName: "RunUntilStoppedManually"},
	} {
		tr.Key, tr.Enabled, tr.CallMode, tr.Source, tr.File = uuid.NewString(), true, jobs.AsyncRequestReply, jobs.SourceConfig, "--dev"
		if err := cat.AddTrigger(t, tr); err != nil {
			return fmt.Errorf("--dev samples: %s", jobs.ErrorMessage(err))
		}
	}
	return nil
}
