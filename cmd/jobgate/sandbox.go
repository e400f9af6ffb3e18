package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/jobgate/jobgate/robot"
	"github.com/jobgate/jobgate/sandbox"
	"github.com/jobgate/jobgate/trigger"
)

// setUpSandbox returns the sandbox of command processes, or nil when they run unsandboxed
// (--sandbox off, or the sandbox cannot work here: tried once, at start). Without a
// sandbox, command releases made through the API are refused unless --unsafe-commands.
func setUpSandbox(f serveFlags, cat *trigger.Catalog, log *slog.Logger) (*robot.SandboxConfig, error) {
	first, last, err := sandbox.ParseUIDRange(f.sandboxUIDs)
	if err != nil {
		return nil, fmt.Errorf("--sandbox-uids %w", err)
	}
	reason := "--sandbox off"
	var cfg *robot.SandboxConfig
	if f.sandbox == "on" {
		cfg, err = newSandboxConfig(f, first, last)
		if err == nil {
			err = robot.ProbeSandbox(*cfg)
		}
		if err != nil {
			reason = "the sandbox does not work here: " + err.Error()
			cfg = nil
		}
	}
	if cfg != nil {
		log.Info("command processes run sandboxed", "uids", f.sandboxUIDs, "privateDirs", f.sandboxPrivateDirs)
		return cfg, nil
	}
	if f.unsafeCommands {
		log.Warn("command processes run UNSANDBOXED, as the server's user, and --unsafe-commands accepts command releases made through the API: a tenant allowed to make one can read this server's secrets", "why", reason)
		return nil, nil
	}
	log.Warn("command processes run UNSANDBOXED, as the server's user: only those of the config file run; command releases made through the API are refused (--unsafe-commands accepts them)", "why", reason)
	cat.RefuseAPICommands(reason)
	return nil, nil
}

func newSandboxConfig(f serveFlags, first, last uint32) (*robot.SandboxConfig, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the jobgate executable: %w", err)
	}
	uids, err := sandbox.NewUIDs(first, last)
	if err != nil {
		return nil, err
	}
	return &robot.SandboxConfig{Init: []string{exe, sandbox.InitCommand}, UIDs: uids, PrivateDirs: splitPaths(f.sandboxPrivateDirs)}, nil
}

// splitPaths splits a comma list; an empty list is no directory (not the default).
func splitPaths(s string) []string {
	out := splitList(s)
	if out == nil {
		out = []string{}
	}
	return out
}
