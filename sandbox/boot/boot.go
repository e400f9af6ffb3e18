// Package boot runs the sandbox init as early as Go allows: imported (for its side effect)
// by a program that can be re-executed as a sandbox init (jobgate, and the test binaries
// that stand in for it), its init function runs sandbox.Init and exits when the program's
// first argument is sandbox.InitCommand.
//
// It is jobgate's only init function, for a measured reason: Go initialises packages
// before main runs, and jobgate's (Prometheus, protobuf, go-redis, Echo, the Lua scripts…)
// take ~13 ms of CPU at every start. Packages initialise in import-path order as their
// dependencies allow, so this one, which needs only package sandbox and the standard
// library, runs before most of them, and a job's sandbox starts without paying for them.
package boot

import (
	"os"

	"github.com/jobgate/jobgate/sandbox"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == sandbox.InitCommand {
		os.Exit(sandbox.Init())
	}
}
