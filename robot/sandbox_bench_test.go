package robot_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/robot"
)

// BenchmarkCommand_True measures what starting a command costs: b.N jobs of /bin/true, one
// at a time (one slot), through a real Pool on a memstore; ns/op is one job, claim to
// finish. The sandboxed variants cost the difference to "unsandboxed":
//
//	go test -run '^$' -bench BenchmarkCommand_True -benchtime 200x -count 5 ./robot
func BenchmarkCommand_True(b *testing.B) {
	for _, v := range []struct {
		name string
		sb   func() *robot.SandboxConfig
		host bool
	}{
		{"unsandboxed", func() *robot.SandboxConfig { return nil }, false},
		{"sandbox, network none", func() *robot.SandboxConfig { sb := testSandbox(b); return &sb }, false},
		{"sandbox, network host", func() *robot.SandboxConfig { sb := testSandbox(b); return &sb }, true},
	} {
		b.Run(v.name, func(b *testing.B) {
			var finished atomic.Int64
			cfg := robot.Config{Slots: 1, Sandbox: v.sb(), OnFinish: func(j jobs.Job) {
				if j.State == jobs.Successful {
					finished.Add(1)
				}
			}}
			r := setupPool(b, jobs.Process{Command: []string{"/bin/true"}, HostNetwork: v.host}, cfg)
			b.ResetTimer()
			for range b.N {
				before := finished.Load()
				r.create(jobs.CreateRequest{})
				for finished.Load() == before {
					time.Sleep(50 * time.Microsecond)
				}
			}
			b.StopTimer()
		})
	}
}
