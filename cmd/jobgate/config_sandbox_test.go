package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/memstore"
	"github.com/jobgate/jobgate/robot"
	"github.com/jobgate/jobgate/trigger"
)

func TestConfig_CommandSandboxOptionsAndAllowApiCommandsLoad(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "jobgate.yaml", `tenants:
  - org: acme
    tenant: prod
    settings: {allowApiCommands: true}
    processes:
      - key: Report
        command: [./report.sh]
        user: "4242"
        network: host
        limits: {cpuTime: 10m, memory: 2GiB, openFiles: 100, processes: 20}
      - key: Plain
        command: [./plain.sh]
`)
	cat := trigger.NewCatalog()
	if err := loadConfigFile(path, cat, robot.Builtins()); err != nil {
		t.Fatal(err)
	}
	acme := jobs.Tenant{Org: "acme", Tenant: "prod"}
	p, _ := cat.Process(acme, "Report")
	if p.User == nil || p.User.UID != 4242 || p.User.GID != 4242 || !p.HostNetwork ||
		p.Limits == nil || *p.Limits != (jobs.Limits{CPUTime: 10 * time.Minute, Memory: 2 << 30, OpenFiles: 100, Processes: 20}) {
		t.Errorf("Report = user %+v, host network %v, limits %+v", p.User, p.HostNetwork, p.Limits)
	}
	if plain, _ := cat.Process(acme, "Plain"); plain.User != nil || plain.HostNetwork || plain.Limits != nil {
		t.Errorf("Plain = %+v, want the defaults (a uid per job, no network, default limits)", plain)
	}
	if allowed, declared := cat.APICommandsAllowed(acme); !allowed || !declared {
		t.Errorf("allowApiCommands = %v (declared %v), want true", allowed, declared)
	}
	// allowApiCommands alone does not make the file own the call-mode settings.
	cat.Persist(trigger.StoreConfig{Definitions: memstore.New(memstore.Config{})})
	if info, err := cat.TenantSettings(context.Background(), acme); err != nil || info.Source == jobs.SourceConfig {
		t.Errorf("settings source = %q (%v): allowApiCommands alone made the file own the call-mode settings", info.Source, err)
	}
}

func TestConfig_CommandSandboxOptionsErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ process, want string }{
		{"command: [x]\n        network: bridge", `network "bridge": want none (loopback only, the default) or host`},
		{"command: [x]\n        user: root", `user "root": a command process may not run as root`},
		{"command: [x]\n        user: no-such-user-jobgate", `user "no-such-user-jobgate"`},
		{"command: [x]\n        limits: {memory: 2GB}", `limits: memory: "2GB": want at least 2GiB`},
		{"command: [x]\n        limits: {memory: 512MiB}", `limits: memory: "512MiB": want at least 2GiB`},
		{"command: [x]\n        limits: {cpuTime: soon}", `limits: cpuTime: "soon"`},
		{"builtin: Sleep\n        network: host", `network: applies to command processes only`},
	} {
		path := writeFile(t, "bad.yaml", "tenants:\n  - org: acme\n    tenant: prod\n    processes:\n      - key: P\n        "+tc.process+"\n")
		err := loadConfigFile(path, trigger.NewCatalog(), robot.Builtins())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to say %q", tc.process, err, tc.want)
		}
	}
}
