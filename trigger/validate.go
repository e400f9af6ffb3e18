package trigger

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jobgate/jobgate/jobs"
)

// Limits of what the management API accepts in a release or trigger.
const (
	maxNameLength        = 128  // Name, ProcessKey, argument names
	maxDescriptionLength = 4096 // Description
)

// fieldErrors collects the problems of one request body, one per field.
type fieldErrors []jobs.FieldError

func (e *fieldErrors) add(name, format string, args ...any) {
	*e = append(*e, jobs.FieldError{Name: name, Detail: fmt.Sprintf(format, args...)})
}

// err returns the problems as one EINVALID naming every field, or nil.
func (e fieldErrors) err(what string) error {
	if len(e) == 0 {
		return nil
	}
	sort.SliceStable(e, func(i, k int) bool { return e[i].Name < e[k].Name })
	names := make([]string, len(e))
	for i, f := range e {
		names[i] = f.Name
	}
	return &jobs.Error{Code: jobs.EINVALID, Message: "invalid " + what + ": " + strings.Join(names, ", "), Fields: e}
}

// printable reports whether s is 1 to max characters of valid UTF-8 without control
// characters.
func printable(s string, max int) bool {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

// CheckRelease reports what is wrong with a release defined through the API, as
// CreateRelease would: EINVALID naming every bad field, or nil. It changes nothing.
func (c *Catalog) CheckRelease(p jobs.Process) error { return c.checkRelease(&p) }

// CheckTrigger reports what is wrong with a trigger defined through the API, as
// CreateTrigger would. It changes nothing.
func (c *Catalog) CheckTrigger(ctx context.Context, t jobs.Tenant, tr Trigger) error {
	_, err := c.checkTrigger(ctx, t, &tr)
	return err
}

// checkRelease validates a release defined through the API and completes it: ProcessKey
// defaults to Name, and a builtin release declares its builtin's arguments. It returns
// EINVALID naming every bad field.
func (c *Catalog) checkRelease(p *jobs.Process) error {
	var errs fieldErrors
	switch {
	case p.Name == "":
		errs.add("Name", "is required")
	case !printable(p.Name, maxNameLength):
		errs.add("Name", "must be 1 to %d printable characters", maxNameLength)
	}
	if p.ProcessKey == "" {
		p.ProcessKey = p.Name
	} else if !printable(p.ProcessKey, maxNameLength) {
		errs.add("ProcessKey", "must be 1 to %d printable characters", maxNameLength)
	}
	if utf8.RuneCountInString(p.Description) > maxDescriptionLength || !utf8.ValidString(p.Description) {
		errs.add("Description", "must be valid text of at most %d characters", maxDescriptionLength)
	}
	builtins := c.builtins()
	switch {
	case p.Builtin != "" && p.Command != nil:
		errs.add("Builtin", "give either Builtin or Command, not both")
		errs.add("Command", "give either Builtin or Command, not both")
		checkCommand(p, &errs)
	case p.Builtin == "" && p.Command == nil:
		errs.add("Builtin", "give Builtin (one of %s) or Command (the program and its arguments)", builtinList(builtins))
	case p.Builtin != "":
		c.checkBuiltin(p, builtins, &errs)
	default:
		checkCommand(p, &errs)
	}
	if p.Builtin == "" || p.Command != nil {
		checkArguments(p.Arguments, &errs)
	}
	return errs.err("release")
}

// checkBuiltin checks the fields of a builtin release and gives it the builtin's arguments.
func (c *Catalog) checkBuiltin(p *jobs.Process, builtins map[string]map[string]jobs.Argument, errs *fieldErrors) {
	declared, ok := builtins[p.Builtin]
	if !ok {
		errs.add("Builtin", "unknown builtin %q (use one of %s)", p.Builtin, builtinList(builtins))
	}
	if len(p.Env) > 0 {
		errs.add("Env", "only a Command process takes Env")
	}
	if p.WorkingDir != "" {
		errs.add("WorkingDir", "only a Command process takes WorkingDir")
	}
	if p.Timeout != 0 {
		errs.add("Timeout", "only a Command process takes Timeout")
	}
	if !ok {
		return
	}
	// A client that read a builtin release and sends it back unchanged repeats its
	// arguments; anything else would be a wish the builtin cannot honour.
	if p.Arguments != nil && !sameArguments(p.Arguments, declared) {
		errs.add("Arguments", "a builtin process declares its own arguments (%s); leave Arguments out", argumentList(declared))
	}
	p.Arguments = cloneArguments(declared)
}

// checkCommand checks the fields of a command release.
func checkCommand(p *jobs.Process, errs *fieldErrors) {
	switch {
	case len(p.Command) == 0:
		errs.add("Command", `must list the program and its arguments, e.g. ["./report.sh", "--fast"]`)
	case p.Command[0] == "":
		errs.add("Command[0]", "the program must not be empty")
	}
	for i, a := range p.Command {
		if strings.ContainsRune(a, 0) || !utf8.ValidString(a) {
			errs.add(fmt.Sprintf("Command[%d]", i), "must be valid text without NUL characters")
		}
	}
	for _, k := range sortedNames(p.Env) {
		switch {
		case k == "":
			errs.add("Env", "a variable name must not be empty")
		case strings.ContainsAny(k, "=\x00"):
			errs.add("Env."+k, "a variable name must not contain '=' or NUL")
		case strings.ContainsRune(p.Env[k], 0):
			errs.add("Env."+k, "the value must not contain NUL")
		}
	}
	if strings.ContainsRune(p.WorkingDir, 0) {
		errs.add("WorkingDir", "must not contain NUL")
	}
	if p.Timeout < 0 {
		errs.add("Timeout", "must be positive")
	}
}

// checkArguments checks declared arguments: names, types and defaults.
func checkArguments(args map[string]jobs.Argument, errs *fieldErrors) {
	typed := map[string]jobs.Argument{}
	for _, name := range sortedNames(args) {
		a := args[name]
		field := "Arguments." + name
		switch {
		case name == "":
			errs.add("Arguments", "an argument name must not be empty")
			continue
		case strings.HasPrefix(name, "$"):
			errs.add(field, "an argument name must not start with $ (those keys are call options)")
			continue
		case !printable(name, maxNameLength):
			errs.add(field, "an argument name must be 1 to %d printable characters", maxNameLength)
			continue
		}
		if !a.Type.Valid() {
			errs.add(field+".Type", "unknown type %q (use string, number, integer, boolean, object or array)", a.Type)
			continue
		}
		typed[name] = a
	}
	// Binding no values applies every default: a default of the wrong type is reported.
	if _, err := jobs.BindArguments(typed, nil, nil, false); err != nil {
		if e, ok := err.(*jobs.Error); ok {
			for _, f := range e.Fields {
				if !strings.HasPrefix(f.Detail, "required argument") {
					errs.add("Arguments."+f.Name+".Default", "%s", strings.TrimPrefix(f.Detail, "the declared default is not valid: "))
				}
			}
		}
	}
}

// checkTrigger validates a trigger defined through the API and completes it: Method
// defaults to POST, CallMode to AsyncRequestReply, ReleaseName takes the release's own
// spelling. It returns whether the release is stored (not declared in the file).
// Codes: EINVALID naming every bad field, or the store's.
func (c *Catalog) checkTrigger(ctx context.Context, t jobs.Tenant, tr *Trigger) (stored bool, err error) {
	var errs fieldErrors
	if !validSlug(tr.Slug) {
		errs.add("Slug", "must be 1 to 128 printable characters without '/', '?', '#', '%%' or spaces")
	}
	tr.Method = strings.ToUpper(tr.Method)
	if tr.Method == "" {
		tr.Method = "POST"
	}
	if !contains(Methods, tr.Method) {
		errs.add("Method", "must be GET, POST, PUT or DELETE, not %q", tr.Method)
	}
	if tr.CallMode == "" {
		tr.CallMode = jobs.AsyncRequestReply
	}
	if mode, ok := jobs.ParseCallMode(string(tr.CallMode)); ok {
		tr.CallMode = mode
	} else {
		errs.add("CallMode", "must be AsyncRequestReply, FireAndForget or LongPolling, not %q", tr.CallMode)
	}
	if tr.ReleaseName == "" {
		errs.add("ReleaseName", "is required")
		return false, errs.err("trigger")
	}
	proc, ok := c.declaredProcess(t, tr.ReleaseName)
	if !ok {
		defs := c.definitions()
		if defs == nil {
			return false, jobs.Errorf(jobs.EINTERNAL, "the catalogue has no store")
		}
		proc, err = defs.ReleaseByName(ctx, t, tr.ReleaseName)
		switch {
		case jobs.ErrorCode(err) == jobs.ENOTFOUND:
			errs = append(errs, NoReleaseError(tr.ReleaseName).Fields...)
			return false, errs.err("trigger")
		case err != nil:
			return false, err
		}
		stored = true
	}
	tr.ReleaseName = proc.Name
	if _, err := jobs.BindArguments(proc.Arguments, nil, tr.Arguments, false); err != nil {
		if e, ok := err.(*jobs.Error); ok {
			for _, f := range e.Fields {
				// Missing required arguments are fine: callers supply them.
				if !strings.HasPrefix(f.Detail, "required argument") {
					errs.add("Arguments."+f.Name, "%s", f.Detail)
				}
			}
		}
	}
	return stored, errs.err("trigger")
}

// sameArguments reports whether two argument declarations say the same.
func sameArguments(a, b map[string]jobs.Argument) bool {
	if len(a) != len(b) {
		return false
	}
	for name, x := range a {
		y, ok := b[name]
		if !ok || x.Type != y.Type || x.Required != y.Required || !reflect.DeepEqual(x.Default, y.Default) {
			return false
		}
	}
	return true
}

func cloneArguments(m map[string]jobs.Argument) map[string]jobs.Argument {
	out := make(map[string]jobs.Argument, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// argumentList renders declared arguments as "x number (required), y number".
func argumentList(args map[string]jobs.Argument) string {
	if len(args) == 0 {
		return "none"
	}
	var parts []string
	for _, name := range sortedNames(args) {
		s := name + " " + string(args[name].Type)
		if args[name].Required {
			s += " (required)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func builtinList(builtins map[string]map[string]jobs.Argument) string {
	if len(builtins) == 0 {
		return "none: this server has no builtin processes"
	}
	return strings.Join(sortedNames(builtins), ", ")
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
