package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/robot"
	"github.com/jobgate/jobgate/trigger"
)

// fileConfig is the YAML file of `serve --config` (CONTRACT §8). Keys are lowerCamelCase;
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
		if ft.Settings != nil {
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
			where := at("tenants", ti, "processes", pi)
			p, err := fp.process(builtins)
			if err == nil {
				p.Source, p.File = jobs.SourceConfig, path
				err = cat.AddProcess(t, p)
			}
			if err != nil {
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

// process turns a declared process into the catalogue's form.
func (fp fileProcess) process(builtins map[string]robot.Builtin) (jobs.Process, error) {
	p := jobs.Process{
		Key: uuid.NewString(), Name: fp.Key, ProcessKey: fp.Key, Description: fp.Description,
	}
	if fp.Key == "" {
		return p, jobs.Errorf(jobs.EINVALID, "key (the process name) is required")
	}
	if len(fp.Command) > 0 || fp.WorkingDir != "" || len(fp.Env) > 0 || fp.Timeout != "" {
		return p, jobs.Errorf(jobs.EINVALID, "process %q: command processes are not supported by this version yet; use builtin: one of %s", fp.Key, builtinNames(builtins))
	}
	if fp.Builtin == "" {
		return p, jobs.Errorf(jobs.EINVALID, "process %q needs builtin: one of %s", fp.Key, builtinNames(builtins))
	}
	b, ok := builtins[fp.Builtin]
	if !ok {
		return p, jobs.Errorf(jobs.EINVALID, "process %q: unknown builtin %q (use one of %s)", fp.Key, fp.Builtin, builtinNames(builtins))
	}
	if len(fp.Arguments) > 0 {
		return p, jobs.Errorf(jobs.EINVALID, "process %q: a builtin process declares its own arguments; remove arguments:", fp.Key)
	}
	p.Builtin = fp.Builtin
	p.Arguments = b.Arguments
	return p, nil
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

// addDevSamples declares the samples of CONTRACT §6 in tenant default/default.
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
