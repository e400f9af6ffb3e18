package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/robot"
	"github.com/jobgate/jobgate/trigger"
)

// Command processes in the config file (docs/configuration.md, "The config file"), loaded by loadConfigFile itself.

func TestConfig_CommandProcessLoadsWithEnvWorkingDirTimeoutAndArguments(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "jobgate.yaml", `tenants:
  - org: acme
    tenant: prod
    processes:
      - key: AddNumbers
        builtin: Args_AddNumbers
      - key: Report
        description: Builds the report
        command: ["./scripts/report.sh", "--fast"]
        env: {REGION: eu, EMPTY: ""}
        workingDir: /srv/reports
        timeout: 10m
        arguments:
          name:  {type: string, required: true}
          limit: {type: integer, default: 10}
          ratio: {type: number, default: 1}
          dry:   {type: boolean, default: false}
          opts:  {type: object, default: {depth: 2}}
          tags:  {type: array, default: [a, b]}
          note:  {type: string}
    triggers:
      - slug: report
        process: Report
        arguments: {limit: 20}
`)
	cat := trigger.NewCatalog()
	if err := loadConfigFile(path, cat, robot.Builtins()); err != nil {
		t.Fatal(err)
	}
	p, ok := cat.Process(jobs.Tenant{Org: "acme", Tenant: "prod"}, "report")
	if !ok {
		t.Fatal("process Report was not declared")
	}
	if !reflect.DeepEqual(p.Command, []string{"./scripts/report.sh", "--fast"}) || p.WorkingDir != "/srv/reports" ||
		p.Timeout != 10*time.Minute || !reflect.DeepEqual(p.Env, map[string]string{"REGION": "eu", "EMPTY": ""}) ||
		p.Builtin != "" || p.Source != jobs.SourceConfig || p.File != path || p.Description != "Builds the report" {
		t.Errorf("process = %+v", p)
	}
	want := map[string]jobs.Argument{
		"name":  {Type: jobs.TypeString, Required: true},
		"limit": {Type: jobs.TypeInteger, Default: int64(10)},
		"ratio": {Type: jobs.TypeNumber, Default: 1.0},
		"dry":   {Type: jobs.TypeBoolean, Default: false},
		"opts":  {Type: jobs.TypeObject, Default: map[string]any{"depth": 2}},
		"tags":  {Type: jobs.TypeArray, Default: []any{"a", "b"}},
		"note":  {Type: jobs.TypeString},
	}
	if !reflect.DeepEqual(p.Arguments, want) {
		t.Errorf("arguments = %#v\nwant %#v", p.Arguments, want)
	}
	// The declared arguments bind calls: defaults apply, types are checked.
	got, err := jobs.BindArguments(p.Arguments, map[string]any{"limit": 20}, map[string]any{"name": "q3"}, false)
	if err != nil || got["limit"] != int64(20) || got["ratio"] != 1.0 || got["name"] != "q3" {
		t.Errorf("bound = %v, %v", got, err)
	}
}

func TestConfig_CommandProcessErrorsNameFileLineAndProblem(t *testing.T) {
	t.Parallel()
	const head = "tenants:\n  - org: acme\n    tenant: prod\n    processes:\n" // processes start on line 5
	for _, tc := range []struct {
		name      string
		processes string
		expect    []string // substrings of the error; "@N" stands for "FILE:N: tenants[0].processes[0]: "
	}{
		{"timeout not a duration", `      - key: Report
        command: [./report.sh]
        timeout: soon
`, []string{"@7", `process "Report": timeout "soon": want a positive Go duration`}},
		{"timeout without a unit", `      - key: Report
        command: [./report.sh]
        timeout: 10
`, []string{"@7", `timeout "10"`}},
		{"negative timeout", `      - key: Report
        command: [./report.sh]
        timeout: -1m
`, []string{"@7", `timeout "-1m"`}},
		{"unknown argument type", `      - key: Report
        command: [./report.sh]
        arguments:
          name: {type: string}
          limit:
            type: int
`, []string{"@10", `argument "limit": unknown type "int" (use string, number, integer, boolean, object or array)`}},
		{"argument without a type", `      - key: Report
        command: [./report.sh]
        arguments:
          limit: {required: true}
`, []string{"@8", `argument "limit": type: is required`}},
		{"default of the wrong type", `      - key: Report
        command: [./report.sh]
        arguments:
          limit:
            type: integer
            default: ten
`, []string{"@10", `argument "limit": default: expected an integer, got a string`}},
		{"fractional default of an integer", `      - key: Report
        command: [./report.sh]
        arguments:
          limit: {type: integer, default: 1.5}
`, []string{"@8", `argument "limit": default: expected an integer, got 1.5`}},
		{"argument name with $", `      - key: Report
        command: [./report.sh]
        arguments:
          $mode: {type: string}
`, []string{"@8", `argument "$mode": an argument name cannot be empty or start with $`}},
		{"both builtin and command", `      - key: Report
        builtin: Sleep
        command: [./report.sh]
`, []string{"@7", `process "Report" has both builtin: and command:; give exactly one`}},
		{"neither builtin nor command", `      - key: Report
        description: nothing to run
`, []string{"@5", `process "Report" needs builtin: (one of Args_AddNumbers, FailingJob, Sleep, RunUntilStoppedManually) or command: [program, args…]`}},
		{"empty command", `      - key: Report
        command: []
`, []string{"@6", `process "Report": command: needs the program first`}},
		{"reserved env name", `      - key: Report
        command: [./report.sh]
        env:
          REGION: eu
          JOBGATE_OUTPUT: /tmp/x
`, []string{"@9", `env: JOBGATE_OUTPUT: names starting with JOBGATE_ are set by jobgate`}},
		{"env on a builtin", `      - key: Nap
        builtin: Sleep
        timeout: 1m
`, []string{"@7", `process "Nap": timeout: applies to command processes only, not to a builtin`}},
		{"arguments on a builtin", `      - key: Nap
        builtin: Sleep
        arguments:
          seconds: {type: number}
`, []string{"@8", `process "Nap": a builtin process declares its own arguments; remove arguments:`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "jobgate.yaml", head+tc.processes)
			err := loadConfigFile(path, trigger.NewCatalog(), robot.Builtins())
			if err == nil {
				t.Fatal("the config loaded")
			}
			for _, want := range tc.expect {
				if strings.HasPrefix(want, "@") {
					want = "config " + path + ":" + want[1:] + ": tenants[0].processes[0]: "
				}
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
		})
	}
}

func TestConfig_CommandProcessUnknownKeysAreRefusedWithTheirLine(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		yaml, key, line string
	}{
		"in a process": {`tenants:
  - org: acme
    tenant: prod
    processes:
      - key: Report
        command: [./report.sh]
        workdir: /srv
`, "workdir", "line 7"},
		"in an argument": {`tenants:
  - org: acme
    tenant: prod
    processes:
      - key: Report
        command: [./report.sh]
        arguments:
          limit: {typ: integer}
`, "typ", "line 8"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "jobgate.yaml", tc.yaml)
			err := loadConfigFile(path, trigger.NewCatalog(), robot.Builtins())
			if err == nil {
				t.Fatal("the config loaded")
			}
			for _, want := range []string{"config " + path, tc.line, `unknown key "` + tc.key + `"`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
		})
	}
}

func TestConfig_CommandGivenAsTextIsRefusedAskingForAList(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "jobgate.yaml", `tenants:
  - org: acme
    tenant: prod
    processes:
      - key: Report
        command: ./report.sh --fast
`)
	err := loadConfigFile(path, trigger.NewCatalog(), robot.Builtins())
	if err == nil {
		t.Fatal("the config loaded")
	}
	for _, want := range []string{"config " + path, "line 6", `text is not accepted here: want a list, e.g. command: ["./report.sh", "--fast"]`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
