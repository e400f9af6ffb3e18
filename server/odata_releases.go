package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/odata"
)

// The Releases entity set (docs/api.md §19): the processes a tenant can run.

// releaseSchema lists the Releases fields that $filter, $orderby and $select may name.
var releaseSchema = odata.Schema{
	"Id": odata.Number, "Key": odata.String, "Name": odata.String, "ProcessKey": odata.String,
	"Description": odata.String, "Builtin": odata.String, "Command": odata.Object, "Env": odata.Object,
	"WorkingDir": odata.String, "Timeout": odata.String, "Arguments": odata.Object, "Source": odata.String,
}

// releaseFields are the fields a client may write, in the order errors list them.
var releaseFields = []string{"Name", "ProcessKey", "Description", "Builtin", "Command", "Env", "WorkingDir", "Timeout", "Arguments"}

// releaseJSON renders a release as the API shows it. Fields that do not apply (Builtin of a
// command release, Command, Env, WorkingDir and Timeout of a builtin one) are null.
func releaseJSON(p jobs.Process) map[string]any {
	m := map[string]any{
		"Id": p.ID, "Key": p.Key, "Name": p.Name, "ProcessKey": p.ProcessKey, "Description": p.Description,
		"Builtin": nullIfEmpty(p.Builtin), "Command": nil, "Env": nil, "WorkingDir": nullIfEmpty(p.WorkingDir),
		"Timeout": nil, "Arguments": argumentsJSON(p.Arguments), "Source": p.Source,
	}
	if p.Command != nil {
		m["Command"] = p.Command
	}
	if p.Env != nil {
		m["Env"] = p.Env
	}
	if p.Timeout > 0 {
		m["Timeout"] = formatDuration(p.Timeout)
	}
	return m
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// argumentsJSON renders declared arguments as {"x": {"Type": …, "Required": …, "Default": …}}.
func argumentsJSON(args map[string]jobs.Argument) map[string]any {
	out := make(map[string]any, len(args))
	for name, a := range args {
		out[name] = map[string]any{"Type": a.Type, "Required": a.Required, "Default": a.Default}
	}
	return out
}

// formatDuration writes d the way people write it: 10m, 1h30m, 45s, 1.5s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// decodeRelease reads a release from a body that gives every field (POST, PUT, or a PATCH
// merged over the current release). id is the release's Id from the URL, 0 on POST.
func decodeRelease(b *body, id int64) (jobs.Process, error) {
	p := jobs.Process{ID: id}
	b.checkID(id)
	b.readOnly("Key", "Source")
	p.Name = b.str("Name")
	p.ProcessKey = b.str("ProcessKey")
	p.Description = b.str("Description")
	p.Builtin = b.str("Builtin")
	b.decode("Command", &p.Command, `an array of strings, e.g. ["./report.sh", "--fast"]`)
	b.decode("Env", &p.Env, `an object of strings, e.g. {"REGION": "eu"}`)
	p.WorkingDir = b.str("WorkingDir")
	if text := b.str("Timeout"); text != "" {
		d, err := time.ParseDuration(text)
		switch {
		case err != nil:
			b.bad("Timeout", "must be a duration such as \"90s\", \"10m\" or \"1h30m\", got %q", text)
		case d <= 0:
			b.bad("Timeout", "must be positive, got %q", text)
		default:
			p.Timeout = d
		}
	}
	p.Arguments = decodeArguments(b)
	b.unknown(releaseFields)
	return p, b.err("release")
}

// decodeArguments reads {"x": {"Type": "number", "Required": true, "Default": …}}; nil when
// the field is absent or null.
func decodeArguments(b *body) map[string]jobs.Argument {
	var raw map[string]json.RawMessage
	if !b.decode("Arguments", &raw, `an object of declarations, e.g. {"x": {"Type": "number", "Required": true}}`) {
		return nil
	}
	out := make(map[string]jobs.Argument, len(raw))
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		prefix := "Arguments." + name
		obj, err := objectOf(raw[name], prefix)
		if err != nil {
			b.bad(prefix, `must be an object such as {"Type": "number", "Required": true}`)
			continue
		}
		ab := newBody(obj, prefix+".")
		a := jobs.Argument{Type: jobs.ArgumentType(ab.str("Type")), Required: ab.boolean("Required", false)}
		if v := ab.given("Default"); v != nil {
			var def any
			ab.decode("Default", &def, "a JSON value")
			a.Default = def
		}
		if a.Type == "" && ab.given("Type") == nil {
			ab.bad("Type", "is required (string, number, integer, boolean, object or array)")
		}
		ab.unknown([]string{"Type", "Required", "Default"})
		b.errs = append(b.errs, ab.errs...)
		out[name] = a
	}
	return out
}

func (s *Server) listReleases(c echo.Context, r odataRequest) error {
	all, err := s.cfg.Catalog.Releases(c.Request().Context(), r.Tenant)
	if err != nil {
		return err
	}
	entities := make([]map[string]any, len(all))
	for i, p := range all {
		entities[i] = releaseJSON(p)
	}
	return s.writeList(c, "Releases", releaseSchema, entities)
}

func (s *Server) getRelease(c echo.Context, r odataRequest) error {
	p, err := s.cfg.Catalog.Release(c.Request().Context(), r.Tenant, r.ID)
	if err != nil {
		return err
	}
	return s.writeEntity(c, "Releases/$entity", releaseSchema, releaseJSON(p))
}

func (s *Server) createRelease(c echo.Context, r odataRequest) error {
	b, err := s.readBody(c)
	if err != nil {
		return err
	}
	p, err := decodeRelease(b, 0)
	if err != nil {
		return alsoInvalid(err, s.cfg.Catalog.CheckRelease(p), releaseFields)
	}
	created, err := s.cfg.Catalog.CreateRelease(c.Request().Context(), r.Tenant, p)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, s.odataBase(c)+fmt.Sprintf("Releases(%d)", created.ID))
	return s.writeChanged(c, http.StatusCreated, "Releases/$entity", releaseJSON(created))
}

func (s *Server) replaceRelease(c echo.Context, r odataRequest) error {
	return s.changeRelease(c, r, false)
}

func (s *Server) patchRelease(c echo.Context, r odataRequest) error {
	return s.changeRelease(c, r, true)
}

// changeRelease serves PUT (the body is the whole release) and PATCH (the body's fields
// replace those of the current release).
func (s *Server) changeRelease(c echo.Context, r odataRequest, patch bool) error {
	ctx := c.Request().Context()
	current, err := s.cfg.Catalog.EditableRelease(ctx, r.Tenant, r.ID)
	if err != nil {
		return err
	}
	b, err := s.readBody(c)
	if err != nil {
		return err
	}
	if patch {
		cur := releaseJSON(current)
		if current.Builtin != "" {
			delete(cur, "Arguments") // a builtin's own: they follow Builtin, whatever it becomes
		}
		b = merged(cur, b)
	}
	p, err := decodeRelease(b, r.ID)
	if err != nil {
		return alsoInvalid(err, s.cfg.Catalog.CheckRelease(p), releaseFields)
	}
	changed, err := s.cfg.Catalog.ReplaceRelease(ctx, r.Tenant, p)
	if err != nil {
		return err
	}
	return s.writeChanged(c, http.StatusOK, "Releases/$entity", releaseJSON(changed))
}

func (s *Server) deleteRelease(c echo.Context, r odataRequest) error {
	if err := s.cfg.Catalog.DeleteRelease(c.Request().Context(), r.Tenant, r.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
