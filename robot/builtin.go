package robot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jobgate/jobgate/jobs"
)

// BuiltinFunc is a process written in Go. It returns the job's output arguments; an error
// faults the job with the error's text as Info. It must return promptly once ctx is done.
type BuiltinFunc func(ctx context.Context, args map[string]any, report func(jobs.Progress)) (map[string]any, error)

// Builtin is one sample process: its code and the arguments it declares.
type Builtin struct {
	Run       BuiltinFunc
	Arguments map[string]jobs.Argument
}

// Builtins returns the built-in sample processes of docs/configuration.md, "Dev samples", by name.
func Builtins() map[string]Builtin {
	num := jobs.Argument{Type: jobs.TypeNumber, Required: true}
	return map[string]Builtin{
		"Args_AddNumbers": {
			Arguments: map[string]jobs.Argument{"x": num, "y": num},
			Run: func(ctx context.Context, args map[string]any, _ func(jobs.Progress)) (map[string]any, error) {
				x, y := number(args["x"]), number(args["y"])
				return map[string]any{"sum": x + y, "diff": x - y, "product": x * y}, nil
			},
		},
		"FailingJob": {
			Arguments: map[string]jobs.Argument{},
			Run: func(ctx context.Context, _ map[string]any, _ func(jobs.Progress)) (map[string]any, error) {
				//lint:ignore ST1005 the sample's Info is fixed by the contract (§6)
				return nil, errors.New("This workflow always fails")
			},
		},
		"Sleep": {
			Arguments: map[string]jobs.Argument{"seconds": num},
			Run: func(ctx context.Context, args map[string]any, report func(jobs.Progress)) (map[string]any, error) {
				secs := number(args["seconds"])
				if secs < 0 || secs > 7*24*3600 {
					return nil, fmt.Errorf("seconds must be between 0 and 604800, got %v", secs)
				}
				t := time.NewTimer(time.Duration(secs * float64(time.Second)))
				defer t.Stop()
				select {
				case <-t.C:
					return map[string]any{"slept": args["seconds"]}, nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			},
		},
		"RunUntilStoppedManually": {
			Arguments: map[string]jobs.Argument{},
			Run: func(ctx context.Context, _ map[string]any, _ func(jobs.Progress)) (map[string]any, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			},
		},
	}
}

func number(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int64:
		return float64(n)
	case int:
		return float64(n)
	}
	return 0
}
