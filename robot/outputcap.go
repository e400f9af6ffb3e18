package robot

import (
	"encoding/json"
	"fmt"

	"github.com/jobgate/jobgate/jobs"
)

// MaxOutputBytes bounds a job's output arguments, JSON-encoded, for every executor
// (builtin and command alike): a larger output ends the job Faulted and is not stored.
// Every copy of a job's output — in the store, in its notification, in each answer that
// carries it — is bounded by it, so one job cannot make the store or the server hold an
// unbounded output.
const MaxOutputBytes = 4 << 20

// successResult is the result of a run that returned output: Successful with it, or
// Faulted when it is over MaxOutputBytes once encoded.
func successResult(output map[string]any) jobs.Result {
	// Fault the job rather than let the store refuse the result: a Successful job whose
	// output cannot be encoded (±Inf, NaN) would otherwise be lost or shown as null.
	if err := jobs.CheckOutput(output); err != nil {
		return jobs.Result{State: jobs.Faulted, Info: "The job's output cannot be stored: " + jobs.ErrorMessage(err)}
	}
	if output == nil {
		output = map[string]any{}
	}
	if b, err := json.Marshal(output); err == nil && len(b) > MaxOutputBytes {
		return jobs.Result{State: jobs.Faulted, Info: fmt.Sprintf(
			"The job's output arguments are %d bytes once encoded, over the limit of %d bytes (4 MiB); the output was dropped",
			len(b), MaxOutputBytes)}
	}
	return jobs.Result{State: jobs.Successful, OutputArguments: output}
}
