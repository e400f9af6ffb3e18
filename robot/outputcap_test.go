package robot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/robot"
)

// TestOutput_OverFourMiBEndsTheJobFaulted: a builtin's output, like a command's, is bounded;
// one a byte over the limit ends the job Faulted with an Info that says why, and is not
// stored. One just under it is stored.
func TestOutput_OverFourMiBEndsTheJobFaulted(t *testing.T) {
	t.Parallel()
	big := robot.Builtin{Arguments: map[string]jobs.Argument{"n": {Type: jobs.TypeNumber, Required: true}},
		Run: func(_ context.Context, args map[string]any, _ func(jobs.Progress)) (map[string]any, error) {
			n := int(args["n"].(float64))
			return map[string]any{"s": strings.Repeat("a", n)}, nil
		}}
	proc := jobs.Process{Name: "Big", Builtin: "Big"}
	r := setup(t, proc, robot.Config{Slots: 1, Builtins: map[string]robot.Builtin{"Big": big}})
	const overhead = len(`{"s":""}`)

	over := r.run(map[string]any{"n": float64(robot.MaxOutputBytes - overhead + 1)})
	if over.State != jobs.Faulted || !strings.Contains(over.Info, "over the limit of 4194304 bytes (4 MiB)") || over.OutputArguments != nil {
		t.Fatalf("job with a 4 MiB + 1 byte output = %s %q (output kept: %v); want Faulted naming the limit, no output",
			over.State, over.Info, over.OutputArguments != nil)
	}
	fits := r.run(map[string]any{"n": float64(robot.MaxOutputBytes - overhead)})
	if fits.State != jobs.Successful || len(fits.OutputArguments["s"].(string)) != robot.MaxOutputBytes-overhead {
		t.Fatalf("job with a 4 MiB output = %s %q; want Successful with it", fits.State, fits.Info)
	}
}
