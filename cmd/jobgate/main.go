// Command jobgate is the API-trigger job runner: the server, a token minter and a reference
// client. main only calls run.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/jobgate/jobgate/sandbox"
	// The executor re-executes jobgate as a job's sandbox init: it starts there, before the
	// initialisation of the heavy packages.
	_ "github.com/jobgate/jobgate/sandbox/boot"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `jobgate — turns API calls into jobs and answers in the caller's call mode.

Usage: jobgate <command> [flags]

Commands:
  serve    run the API server (and in-process robots)
  token    mint a bearer JWT and print it
  invoke   call a trigger and follow its call mode to the job's output
  robot    run a robot agent on another machine (not available yet)
  help     show this text

Run 'jobgate <command> -h' for a command's flags.
`

// run is the whole program; it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "token":
		return runToken(args[1:], getenv, stdout, stderr)
	case "invoke":
		return runInvoke(ctx, args[1:], getenv, stdout, stderr)
	case "robot":
		fmt.Fprintln(stderr, "jobgate robot: remote robot agents are not available yet; 'jobgate serve --robots N' runs robots inside the server")
		return 2
	case sandbox.InitCommand: // hidden; package boot runs it before main (see there)
		return sandbox.Init()
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "jobgate: unknown command %q\n\n%s", args[0], usage)
	return 2
}
