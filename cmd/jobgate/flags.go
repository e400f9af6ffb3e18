package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// envName returns the environment fallback of a flag: JOBGATE_<FLAG_IN_UPPER_SNAKE>.
func envName(flagName string) string {
	return "JOBGATE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// newFlagSet returns a flag set for a subcommand whose usage lists every flag with its
// environment fallback.
func newFlagSet(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nUsage: jobgate %s [flags]\n\nFlags (each also read from its environment variable; the flag wins):\n", summary, name)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(stderr, "  --%s\t%s%s [$%s]\n", f.Name, f.Usage, def, envName(f.Name))
		})
	}
	return fs
}

// parseFlags parses args, then fills every flag that was not given from its environment
// variable. A bad environment value is an error naming the variable.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("environment variable %s=%q: %v", envName(f.Name), v, serr)
			}
		}
	})
	return err
}

// listFlag is a repeatable string flag (--arg k=v …).
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}
