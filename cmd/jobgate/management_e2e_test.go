package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jobgate/jobgate/auth"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/redisstore"
)

// End-to-end tests of the management API (docs/api.md §19): Releases, ApiTriggers, Settings and
// the Jobs actions, over real HTTP against the real server, on every store.

// mgmt talks to one server's management API for tenant default/default.
type mgmt struct {
	t   *testing.T
	s   *testServer
	tok string
}

func newMgmt(t *testing.T, s *testServer, scopes ...string) mgmt {
	return mgmt{t: t, s: s, tok: token(t, scopes...)}
}

// do sends method to …/odata/<path> (path may carry a query, already escaped).
func (m mgmt) do(method, path string, body any) response {
	m.t.Helper()
	return do(m.t, noFollow, method, m.s.tenantURL("/odata/"+path), m.tok, body)
}

// get lists or reads with OData options given as name, value pairs.
func (m mgmt) get(path string, options ...string) response {
	m.t.Helper()
	q := url.Values{}
	for i := 0; i+1 < len(options); i += 2 {
		q.Set(options[i], options[i+1])
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return m.do("GET", path, nil)
}

// create POSTs body to set, wants 201 with a Location that reads back the same entity, and
// returns the entity.
func (m mgmt) create(set string, body any) map[string]any {
	m.t.Helper()
	r := m.do("POST", set, body)
	wantStatus(m.t, r, http.StatusCreated)
	e := r.json(m.t)
	wantEntityContext(m.t, e, set)
	loc := r.Header.Get("Location")
	want := m.s.tenantURL(fmt.Sprintf("/odata/%s(%d)", set, int(e["Id"].(float64))))
	if loc != want {
		m.t.Fatalf("Location = %q, want %q", loc, want)
	}
	again := do(m.t, noFollow, "GET", loc, m.tok, nil)
	wantStatus(m.t, again, http.StatusOK)
	if a := again.json(m.t); fmt.Sprint(a) != fmt.Sprint(e) {
		m.t.Fatalf("GET Location = %v, want the created entity %v", a, e)
	}
	return e
}

func wantEntityContext(t *testing.T, e map[string]any, set string) {
	t.Helper()
	if ctx, _ := e["@odata.context"].(string); !strings.HasSuffix(ctx, "/odata/$metadata#"+set+"/$entity") {
		t.Fatalf("@odata.context = %q, want …/odata/$metadata#%s/$entity", ctx, set)
	}
}

// values returns field of each entity of a list answer, in order.
func values(t *testing.T, r response, field string) []any {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var out []any
	for _, v := range r.json(t)["value"].([]any) {
		out = append(out, v.(map[string]any)[field])
	}
	return out
}

// wantFields fails unless the problem names exactly the fields want (in any order).
func wantFields(t *testing.T, p map[string]any, want ...string) {
	t.Helper()
	got := map[string]bool{}
	list, _ := p["errors"].([]any)
	for _, e := range list {
		got[e.(map[string]any)["name"].(string)] = true
	}
	for _, w := range want {
		if !got[w] {
			t.Fatalf("problem does not name %q: %v", w, p)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("problem names %d fields, want %d (%v): %v", len(got), len(want), want, p)
	}
}

func wantDetail(t *testing.T, p map[string]any, parts ...string) {
	t.Helper()
	for _, part := range parts {
		if !strings.Contains(p["detail"].(string), part) {
			t.Fatalf("detail %q lacks %q", p["detail"], part)
		}
	}
}

func id(e map[string]any) string { return fmt.Sprint(int(e["Id"].(float64))) }

// addRelease is a release of the Args_AddNumbers builtin.
func addRelease(name string) map[string]any {
	return map[string]any{"Name": name, "Builtin": "Args_AddNumbers", "Description": "adds x and y"}
}

// invokeLongPolling calls trigger slug and wants the output at once.
func invokeLongPolling(t *testing.T, s *testServer, slug string, args map[string]any) response {
	t.Helper()
	return do(t, noFollow, "POST", s.tenantURL("/t/"+slug), token(t), args, "Prefer", "wait=20")
}

func TestReleases_CreateReadReplacePatchDelete(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		m := newMgmt(t, start())

		// A builtin release shows its builtin's arguments; Id follows the --dev samples (1-4).
		adder := m.create("Releases", addRelease("Adder"))
		if adder["Id"] != 5.0 || adder["Source"] != "Api" || adder["ProcessKey"] != "Adder" || adder["Builtin"] != "Args_AddNumbers" {
			t.Fatalf("created %v", adder)
		}
		if x := adder["Arguments"].(map[string]any)["x"].(map[string]any); x["Type"] != "number" || x["Required"] != true {
			t.Fatalf("Arguments = %v", adder["Arguments"])
		}
		for _, f := range []string{"Command", "Env", "WorkingDir", "Timeout"} {
			if v, ok := adder[f]; !ok || v != nil {
				t.Fatalf("%s of a builtin release = %v, want null", f, v)
			}
		}

		// A command release keeps argv, env, working dir, timeout and typed arguments.
		report := m.create("Releases", map[string]any{
			"Name": "Report", "ProcessKey": "MonthlyReport", "Command": []string{"./report.sh", "--fast"},
			"Env": map[string]string{"REGION": "eu"}, "WorkingDir": "/srv/reports", "Timeout": "10m",
			"Arguments": map[string]any{
				"name":  map[string]any{"Type": "string", "Required": true},
				"limit": map[string]any{"Type": "integer", "Default": 9007199254740993},
			},
		})
		if report["Timeout"] != "10m" || report["WorkingDir"] != "/srv/reports" || fmt.Sprint(report["Command"]) != "[./report.sh --fast]" ||
			report["Env"].(map[string]any)["REGION"] != "eu" || report["Builtin"] != nil {
			t.Fatalf("created %v", report)
		}
		raw := m.do("GET", "Releases("+id(report)+")", nil)
		if !strings.Contains(string(raw.Body), `"Default":9007199254740993`) {
			t.Fatalf("an integer default lost its exact value: %s", raw.Body)
		}

		// PUT replaces the whole release: what it leaves out is gone.
		put := m.do("PUT", "Releases("+id(report)+")", map[string]any{
			"Name": "Report", "Command": []string{"/usr/bin/env"}, "Timeout": "1h30m",
		})
		wantStatus(t, put, http.StatusOK)
		got := put.json(t)
		wantEntityContext(t, got, "Releases")
		if got["Timeout"] != "1h30m" || got["Env"] != nil || got["WorkingDir"] != nil || got["ProcessKey"] != "Report" ||
			len(got["Arguments"].(map[string]any)) != 0 || got["Key"] != report["Key"] || got["Id"] != report["Id"] {
			t.Fatalf("after PUT: %v", got)
		}

		// PATCH changes only the fields it gives; null clears one.
		patch := m.do("PATCH", "Releases("+id(report)+")", map[string]any{"Description": "monthly", "Timeout": nil})
		wantStatus(t, patch, http.StatusOK)
		got = patch.json(t)
		if got["Description"] != "monthly" || got["Timeout"] != nil || fmt.Sprint(got["Command"]) != "[/usr/bin/env]" {
			t.Fatalf("after PATCH: %v", got)
		}
		// A builtin release read and sent back unchanged is accepted (its arguments included).
		back := adder
		delete(back, "@odata.context")
		wantStatus(t, m.do("PUT", "Releases("+id(adder)+")", back), http.StatusOK)

		// DELETE → 204, then 404.
		del := m.do("DELETE", "Releases("+id(report)+")", nil)
		wantStatus(t, del, http.StatusNoContent)
		wantProblem(t, m.do("GET", "Releases("+id(report)+")", nil), http.StatusNotFound)
		wantProblem(t, m.do("DELETE", "Releases("+id(report)+")", nil), http.StatusNotFound)
		wantProblem(t, m.do("PATCH", "Releases(999)", map[string]any{"Description": "x"}), http.StatusNotFound)

		// The name of a deleted release is free again; ids are not reused.
		again := m.create("Releases", map[string]any{"Name": "REPORT", "Command": []string{"true"}})
		if again["Id"] == report["Id"] {
			t.Fatalf("a deleted release's id was reused: %v", again)
		}
	})
}

func TestReleases_NamesAreUniqueAndBadBodiesAre400NamingEachField(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		m := newMgmt(t, start())
		m.create("Releases", addRelease("Adder"))

		p := wantProblem(t, m.do("POST", "Releases", addRelease("ADDER")), http.StatusConflict)
		wantDetail(t, p, "ADDER")
		wantFields(t, p, "Name")
		// The --dev sample names belong to --dev.
		p = wantProblem(t, m.do("POST", "Releases", addRelease("sleep")), http.StatusConflict)
		wantDetail(t, p, "--dev")

		other := m.create("Releases", addRelease("Other"))
		p = wantProblem(t, m.do("PATCH", "Releases("+id(other)+")", map[string]any{"Name": "adder"}), http.StatusConflict)
		wantFields(t, p, "Name")

		for _, c := range []struct {
			name   string
			body   any
			fields []string
		}{
			{"unknown fields", map[string]any{"Name": "A", "Builtin": "Sleep", "name": "a", "Colour": "red"}, []string{"name", "Colour"}},
			{"unknown builtin", map[string]any{"Name": "A", "Builtin": "Nope"}, []string{"Builtin"}},
			{"both builtin and command", map[string]any{"Name": "A", "Builtin": "Sleep", "Command": []string{"x"}}, []string{"Builtin", "Command"}},
			{"neither builtin nor command", map[string]any{"Name": "A"}, []string{"Builtin"}},
			{"no name", map[string]any{"Builtin": "Sleep"}, []string{"Name"}},
			{"wrong types", map[string]any{"Name": 5, "Command": "./x.sh", "Env": []string{"A"}, "WorkingDir": true},
				[]string{"Name", "Command", "Env", "WorkingDir"}},
			{"empty argv", map[string]any{"Name": "A", "Command": []string{}}, []string{"Command"}},
			{"empty program", map[string]any{"Name": "A", "Command": []string{""}}, []string{"Command[0]"}},
			{"bad env names", map[string]any{"Name": "A", "Command": []string{"x"}, "Env": map[string]string{"A=B": "1", "": "2"}}, []string{"Env.A=B", "Env"}},
			{"bad timeouts", map[string]any{"Name": "A", "Command": []string{"x"}, "Timeout": "ten minutes"}, []string{"Timeout"}},
			{"negative timeout", map[string]any{"Name": "A", "Command": []string{"x"}, "Timeout": "-1m"}, []string{"Timeout"}},
			{"builtin with command fields", map[string]any{"Name": "A", "Builtin": "Sleep", "Env": map[string]string{"A": "1"}, "Timeout": "1m"}, []string{"Env", "Timeout"}},
			{"builtin with other arguments", map[string]any{"Name": "A", "Builtin": "Sleep", "Arguments": map[string]any{"z": map[string]any{"Type": "string"}}}, []string{"Arguments"}},
			{"bad arguments", map[string]any{"Name": "A", "Command": []string{"x"}, "Arguments": map[string]any{
				"a": map[string]any{"Type": "float"}, "b": map[string]any{"Type": "integer", "Default": "one"},
				"c": map[string]any{"Required": true}, "d": map[string]any{"Type": "string", "Optional": true}, "$e": map[string]any{"Type": "string"},
				"f": "string"}},
				[]string{"Arguments.a.Type", "Arguments.b.Default", "Arguments.c.Type", "Arguments.d.Optional", "Arguments.$e", "Arguments.f"}},
			{"an Id other than the URL's", map[string]any{"Id": 99, "Name": "A", "Builtin": "Sleep"}, []string{"Id"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				method, path := "POST", "Releases"
				if c.name == "an Id other than the URL's" {
					method, path = "PUT", "Releases("+id(other)+")"
				}
				p := wantProblem(t, m.do(method, path, c.body), http.StatusBadRequest)
				wantFields(t, p, c.fields...)
			})
		}
		for _, body := range []string{"", "[]", `{"Name": "A"`, `"A"`, `{"Name": "A", "Builtin": "Sleep"} {}`} {
			wantProblem(t, m.do("POST", "Releases", body), http.StatusBadRequest)
		}
		list := values(t, m.get("Releases", "$filter", "Source eq 'Api'"), "Name")
		if fmt.Sprint(list) != "[Adder Other]" {
			t.Fatalf("refused requests changed the releases: %v", list)
		}
	})
}

func TestReleasesAndApiTriggers_ListsFilterOrderPageAndSelect(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		m := newMgmt(t, start())
		for _, n := range []string{"Beta", "Alpha", "Gamma"} {
			m.create("Releases", map[string]any{"Name": n, "Command": []string{"./" + strings.ToLower(n) + ".sh"}, "Description": "api " + n})
		}
		// Seven releases: the four --dev samples (Config) and three of ours (Api).
		r := m.get("Releases", "$filter", "Source eq 'Api' and startswith(Description, 'api')", "$orderby", "Name desc",
			"$top", "2", "$count", "true", "$select", "Name,Command")
		body := r.json(t)
		if body["@odata.count"] != 3.0 || !strings.HasSuffix(body["@odata.context"].(string), "/odata/$metadata#Releases") {
			t.Fatalf("list = %s", r.Body)
		}
		first := body["value"].([]any)[0].(map[string]any)
		if len(first) != 2 || first["Name"] != "Gamma" || fmt.Sprint(first["Command"]) != "[./gamma.sh]" {
			t.Fatalf("$select=Name,Command gave %v", first)
		}
		if got := fmt.Sprint(values(t, r, "Name")); got != "[Gamma Beta]" {
			t.Fatalf("Names = %s", got)
		}
		if got := fmt.Sprint(values(t, m.get("Releases", "$filter", "Builtin ne null", "$skip", "1", "$top", "2", "$orderby", "Id"), "Id")); got != "[2 3]" {
			t.Fatalf("builtin ids after $skip=1 = %s", got)
		}
		if got := fmt.Sprint(values(t, m.get("Releases", "$filter", "Id gt 4 or Name eq 'Sleep'", "$orderby", "Source,Id desc"), "Id")); got != "[7 6 5 3]" {
			t.Fatalf("ids = %s", got)
		}
		one := m.get("Releases(6)", "$select", "Name,Source")
		wantStatus(t, one, http.StatusOK)
		if e := one.json(t); len(e) != 3 || e["Name"] != "Alpha" || e["Source"] != "Api" {
			t.Fatalf("Releases(6)?$select = %s", one.Body)
		}

		// ApiTriggers: five --dev triggers plus ours.
		for _, tr := range []map[string]any{
			{"Slug": "run-beta", "ReleaseName": "beta", "Method": "GET", "CallMode": "longpolling"},
			{"Slug": "run-alpha", "ReleaseName": "Alpha", "Enabled": false},
		} {
			m.create("ApiTriggers", tr)
		}
		r = m.get("ApiTriggers", "$filter", "Source eq 'Api' and Enabled eq true", "$select", "Slug,ReleaseName,Method,CallMode", "$count", "true")
		if list := r.json(t)["value"].([]any); len(list) != 1 || fmt.Sprint(list[0]) != "map[CallMode:LongPolling Method:GET ReleaseName:Beta Slug:run-beta]" {
			t.Fatalf("ApiTriggers = %s", r.Body)
		}
		if got := fmt.Sprint(values(t, m.get("ApiTriggers", "$orderby", "Slug", "$top", "3", "$filter", "contains(Slug, 'a')"), "Slug")); got != "[add add-get fail]" {
			t.Fatalf("slugs = %s", got)
		}
		if got := fmt.Sprint(values(t, m.get("ApiTriggers", "$filter", "not Enabled", "$select", "Id"), "Id")); got != "[7]" {
			t.Fatalf("disabled = %s", got)
		}

		// Bad queries say where.
		p := wantProblem(t, m.get("Releases", "$filter", "Nam eq 'x'", "$orderby", "Arguments"), http.StatusBadRequest)
		wantFields(t, p, "$filter", "$orderby")
		wantDetail(t, p, `did you mean "Name"`, "position 0")
		p = wantProblem(t, m.get("ApiTriggers", "$filter", "Enabled gt true", "$top", "1001"), http.StatusBadRequest)
		wantFields(t, p, "$filter", "$top")
		p = wantProblem(t, m.get("ApiTriggers(6)", "$top", "1"), http.StatusBadRequest)
		wantFields(t, p, "$top")
	})
}

func TestApiTriggers_CreateInvokeDisableRenameDelete(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		m := newMgmt(t, s)
		rel := m.create("Releases", addRelease("Adder"))
		tr := m.create("ApiTriggers", map[string]any{"Slug": "Plus-One", "ReleaseName": "adder", "Arguments": map[string]any{"y": 1}})
		if tr["Id"] != 6.0 || tr["ReleaseName"] != "Adder" || tr["Method"] != "POST" || tr["CallMode"] != "AsyncRequestReply" ||
			tr["Enabled"] != true || tr["Source"] != "Api" || tr["Arguments"].(map[string]any)["y"] != 1.0 {
			t.Fatalf("created %v", tr)
		}

		// It works like a trigger of the file: merged arguments, any letter case.
		out := invokeLongPolling(t, s, "plus-one", map[string]any{"x": 41})
		wantStatus(t, out, http.StatusOK)
		if out.json(t)["sum"] != 42.0 {
			t.Fatalf("output = %s", out.Body)
		}
		ids := values(t, m.get("Jobs", "$filter", "TriggerSlug eq 'Plus-One'"), "Id")
		if len(ids) != 1 {
			t.Fatalf("jobs of the trigger = %v", ids)
		}
		wantProblem(t, invokeLongPolling(t, s, "plus-one", map[string]any{"x": "41"}), http.StatusBadRequest)
		wantStatus(t, do(t, noFollow, "GET", s.tenantURL("/t/plus-one"), token(t), nil), http.StatusMethodNotAllowed)

		// PATCH Enabled=false: invocations get 409.
		wantStatus(t, m.do("PATCH", "ApiTriggers("+id(tr)+")", map[string]any{"Enabled": false}), http.StatusOK)
		p := wantProblem(t, invokeLongPolling(t, s, "plus-one", map[string]any{"x": 1}), http.StatusConflict)
		wantDetail(t, p, "disabled")

		// PUT: a new slug, method and mode; the old slug is gone.
		put := m.do("PUT", "ApiTriggers("+id(tr)+")", map[string]any{"Slug": "add-up", "ReleaseName": "Adder", "Method": "get", "CallMode": "LongPolling"})
		wantStatus(t, put, http.StatusOK)
		if e := put.json(t); e["Method"] != "GET" || e["Enabled"] != true || len(e["Arguments"].(map[string]any)) != 0 || e["Key"] != tr["Key"] {
			t.Fatalf("after PUT: %v", e)
		}
		wantProblem(t, invokeLongPolling(t, s, "plus-one", nil), http.StatusNotFound)
		got := do(t, noFollow, "GET", s.tenantURL("/t/add-up?x=1&y=2"), token(t), nil)
		wantStatus(t, got, http.StatusOK)
		if got.json(t)["sum"] != 3.0 {
			t.Fatalf("GET add-up = %s", got.Body)
		}

		// A trigger of a --dev release works too.
		m.create("ApiTriggers", map[string]any{"Slug": "nap", "ReleaseName": "Sleep", "CallMode": "FireAndForget"})
		wantStatus(t, do(t, noFollow, "POST", s.tenantURL("/t/nap"), token(t), map[string]any{"seconds": 0}), http.StatusOK)

		// The release cannot be deleted or renamed while the trigger uses it, nor lose the
		// arguments the trigger sets.
		p = wantProblem(t, m.do("DELETE", "Releases("+id(rel)+")", nil), http.StatusConflict)
		wantDetail(t, p, `"add-up"`)
		p = wantProblem(t, m.do("PATCH", "Releases("+id(rel)+")", map[string]any{"Name": "Summer"}), http.StatusConflict)
		wantDetail(t, p, `"add-up"`)
		wantStatus(t, m.do("PATCH", "ApiTriggers("+id(tr)+")", map[string]any{"Arguments": map[string]any{"y": 2}}), http.StatusOK)
		p = wantProblem(t, m.do("PATCH", "Releases("+id(rel)+")", map[string]any{"Builtin": "FailingJob"}), http.StatusConflict)
		wantDetail(t, p, `"add-up"`)

		// Bad triggers: 400 naming each field; slugs are unique case-insensitively.
		p = wantProblem(t, m.do("POST", "ApiTriggers", map[string]any{"Slug": "a/b", "ReleaseName": "Nope", "Method": "PATCH",
			"CallMode": "Sometimes", "Enabled": "yes", "Extra": 1}), http.StatusBadRequest)
		wantFields(t, p, "Slug", "ReleaseName", "Method", "CallMode", "Enabled", "Extra")
		p = wantProblem(t, m.do("POST", "ApiTriggers", map[string]any{"Slug": "x", "ReleaseName": "Adder", "Arguments": map[string]any{"y": "two", "z": 1}}), http.StatusBadRequest)
		wantFields(t, p, "Arguments.y", "Arguments.z")
		p = wantProblem(t, m.do("POST", "ApiTriggers", map[string]any{"Slug": "ADD-UP", "ReleaseName": "Adder"}), http.StatusConflict)
		wantFields(t, p, "Slug")
		p = wantProblem(t, m.do("POST", "ApiTriggers", map[string]any{"Slug": "Add", "ReleaseName": "Adder"}), http.StatusConflict)
		wantDetail(t, p, "--dev")

		// Deleting the triggers frees the release.
		wantStatus(t, m.do("DELETE", "ApiTriggers("+id(tr)+")", nil), http.StatusNoContent)
		wantProblem(t, do(t, noFollow, "GET", s.tenantURL("/t/add-up?x=1&y=2"), token(t), nil), http.StatusNotFound)
		wantStatus(t, m.do("DELETE", "Releases("+id(rel)+")", nil), http.StatusNoContent)
	})
}

// wantFileNamedWithoutPath checks that a 409 names the config file by its base name and shows
// no absolute path of the server's file system.
func wantFileNamedWithoutPath(t *testing.T, p map[string]any, config string) {
	t.Helper()
	wantDetail(t, p, "the config file "+filepath.Base(config))
	if d, _ := p["detail"].(string); strings.Contains(d, filepath.Dir(config)) {
		t.Fatalf("detail %q shows the server's path %s", d, filepath.Dir(config))
	}
}

func TestManagement_ConfigFileOwnsWhatItDeclares(t *testing.T) {
	config := writeFile(t, "jobgate.yaml", `
tenants:
  - org: default
    tenant: default
    settings:
      redirectStatus: 302
    processes:
      - key: FileAdder
        builtin: Args_AddNumbers
    triggers:
      - slug: file-add
        process: FileAdder
  - org: acme
    tenant: prod
    processes:
      - key: Nap
        builtin: Sleep
`)
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start("--config", config)
		m := newMgmt(t, s)
		rel := m.get("Releases", "$filter", "Name eq 'FileAdder'").json(t)["value"].([]any)[0].(map[string]any)
		tr := m.get("ApiTriggers", "$filter", "Slug eq 'file-add'").json(t)["value"].([]any)[0].(map[string]any)
		if rel["Source"] != "Config" || tr["Source"] != "Config" {
			t.Fatalf("declared resources: %v, %v", rel, tr)
		}
		for _, c := range []struct{ method, path string }{
			{"PUT", "Releases(" + id(rel) + ")"}, {"PATCH", "Releases(" + id(rel) + ")"}, {"DELETE", "Releases(" + id(rel) + ")"},
			{"PUT", "ApiTriggers(" + id(tr) + ")"}, {"PATCH", "ApiTriggers(" + id(tr) + ")"}, {"DELETE", "ApiTriggers(" + id(tr) + ")"},
			{"PUT", "Settings"}, {"PATCH", "Settings"},
		} {
			p := wantProblem(t, m.do(c.method, c.path, map[string]any{"Description": "x"}), http.StatusConflict)
			wantFileNamedWithoutPath(t, p, config)
		}
		p := wantProblem(t, m.do("POST", "Releases", addRelease("fileadder")), http.StatusConflict)
		wantFileNamedWithoutPath(t, p, config)
		set := m.get("Settings").json(t)
		if set["Source"] != "Config" || set["RedirectStatus"] != 302.0 || set["RequireAuthOnRedirects"] != true {
			t.Fatalf("Settings = %v", set)
		}

		// API-made ids come after the declared ones, and the file's trigger still works.
		if api := m.create("Releases", addRelease("ApiAdder")); api["Id"] != 6.0 {
			t.Fatalf("first API release of a tenant with 5 declared ones has Id %v", api["Id"])
		}
		if out := invokeLongPolling(t, s, "file-add", map[string]any{"x": 1, "y": 2}); out.Status != http.StatusOK || out.json(t)["sum"] != 3.0 {
			t.Fatalf("file trigger: %d %s", out.Status, out.Body)
		}

		// Another tenant of the file: its settings are not declared, so the API sets them.
		acme := mgmt{t: t, s: s, tok: tokenFor(t, "acme", "prod")}
		put := do(t, noFollow, "PUT", s.URL+"/acme/prod/orchestrator_/odata/Settings", acme.tok, map[string]any{"RedirectStatus": 302})
		wantStatus(t, put, http.StatusOK)
		if put.json(t)["Source"] != "Api" {
			t.Fatalf("acme/prod settings = %s", put.Body)
		}
	})
}

// scopeRoutes is every management route, with a body that would be accepted.
var scopeRoutes = []struct {
	method, path string
	scope        string // the WWW-Authenticate scope of the refusal
}{
	{"GET", "Jobs", "OR.Jobs OR.Jobs.Read"},
	{"GET", "Jobs(1)", "OR.Jobs OR.Jobs.Read"},
	{"GET", "Jobs(1)/Logs", "OR.Jobs OR.Jobs.Read"},
	{"POST", "Jobs/UiPath.Server.Configuration.OData.StartJobs", "OR.Jobs"},
	{"POST", "Jobs(1)/UiPath.Server.Configuration.OData.StopJob", "OR.Jobs"},
	{"POST", "Jobs/UiPath.Server.Configuration.OData.StopJobs", "OR.Jobs"},
	{"GET", "Releases", "OR.Execution"},
	{"POST", "Releases", "OR.Execution"},
	{"GET", "Releases(1)", "OR.Execution"},
	{"PUT", "Releases(5)", "OR.Execution"},
	{"PATCH", "Releases(5)", "OR.Execution"},
	{"DELETE", "Releases(5)", "OR.Execution"},
	{"GET", "ApiTriggers", "OR.Execution"},
	{"POST", "ApiTriggers", "OR.Execution"},
	{"GET", "ApiTriggers(1)", "OR.Execution"},
	{"PUT", "ApiTriggers(6)", "OR.Execution"},
	{"PATCH", "ApiTriggers(6)", "OR.Execution"},
	{"DELETE", "ApiTriggers(6)", "OR.Execution"},
	{"GET", "Settings", "OR.Settings"},
	{"PUT", "Settings", "OR.Settings"},
	{"PATCH", "Settings", "OR.Settings"},
}

func TestManagement_EveryRouteChecksItsScope(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		all := newMgmt(t, s)
		all.create("Releases", addRelease("Adder"))
		all.create("ApiTriggers", map[string]any{"Slug": "adder", "ReleaseName": "Adder"})
		for _, r := range scopeRoutes {
			// A token with every scope but the route's own is refused, and nothing changes.
			var others []string
			for _, sc := range auth.AllScopes() {
				if !strings.Contains(" "+r.scope+" ", " "+sc+" ") {
					others = append(others, sc)
				}
			}
			res := newMgmt(t, s, others...).do(r.method, r.path, map[string]any{})
			wantStatus(t, res, http.StatusForbidden)
			ch := res.Header.Get("WWW-Authenticate")
			if !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="`+r.scope+`"`) {
				t.Fatalf("%s %s: WWW-Authenticate = %q, want insufficient_scope for %q", r.method, r.path, ch, r.scope)
			}
		}
		if n := len(values(t, all.get("Releases", "$filter", "Source eq 'Api'"), "Id")); n != 1 {
			t.Fatalf("refused requests changed the releases: %d API releases", n)
		}

		// The route's scope alone is enough.
		exec := newMgmt(t, s, auth.ScopeExecution)
		exec.create("Releases", addRelease("ByExecution"))
		wantStatus(t, exec.get("ApiTriggers"), http.StatusOK)
		wantStatus(t, newMgmt(t, s, auth.ScopeSettings).get("Settings"), http.StatusOK)
		start1 := newMgmt(t, s, auth.ScopeJobs).do("POST", "Jobs/UiPath.Server.Configuration.OData.StartJobs",
			map[string]any{"startInfo": map[string]any{"ReleaseName": "Sleep", "InputArguments": `{"seconds": 0}`}})
		wantStatus(t, start1, http.StatusCreated)
		wantStatus(t, newMgmt(t, s, auth.ScopeJobsRead).get("Jobs(1)/Logs"), http.StatusOK)
		// Other tenants' tokens are refused before any scope is looked at.
		wantStatus(t, do(t, noFollow, "GET", s.tenantURL("/odata/Releases"), tokenFor(t, "acme", "prod"), nil), http.StatusForbidden)
	})
}

func TestStartJobs_RunsTheReleaseAndRefusesBadInput(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		m := newMgmt(t, s)
		rel := m.get("Releases(1)").json(t) // Args_AddNumbers of --dev

		r := m.do("POST", "Jobs/UiPath.Server.Configuration.OData.StartJobs", map[string]any{"startInfo": map[string]any{
			"ReleaseKey": rel["Key"], "JobsCount": 2, "InputArguments": `{"x": 2, "y": 3}`, "Strategy": "ModernJobsCount",
		}})
		wantStatus(t, r, http.StatusCreated)
		body := r.json(t)
		if !strings.HasSuffix(body["@odata.context"].(string), "/odata/$metadata#Jobs") {
			t.Fatalf("@odata.context = %v", body["@odata.context"])
		}
		list := body["value"].([]any)
		if len(list) != 2 {
			t.Fatalf("value = %s", r.Body)
		}
		for _, v := range list {
			j := v.(map[string]any)
			if j["SourceType"] != "Manual" || j["Source"] != "Manual" || j["CallMode"] != "" || j["TriggerSlug"] != "" ||
				j["ReleaseName"] != "Args_AddNumbers" || j["Release"].(map[string]any)["Key"] != rel["Key"] {
				t.Fatalf("started job = %v", j)
			}
			done := waitJobState(t, s, int(j["Id"].(float64)), "Successful")
			if done["OutputArguments"].(map[string]any)["sum"] != 5.0 {
				t.Fatalf("output = %v", done["OutputArguments"])
			}
		}
		sel := m.get("Jobs(1)", "$select", "State,OutputArguments,SourceType")
		if e := sel.json(t); len(e) != 4 || e["State"] != "Successful" || e["SourceType"] != "Manual" {
			t.Fatalf("Jobs(1)?$select = %s", sel.Body)
		}
		// By name too (an extension), with the default JobsCount of 1.
		byName := m.do("POST", "Jobs/UiPath.Server.Configuration.OData.StartJobs", map[string]any{"startInfo": map[string]any{
			"ReleaseName": "args_addnumbers", "InputArguments": `{"x": 1, "y": 1}`}})
		wantStatus(t, byName, http.StatusCreated)
		if n := len(byName.json(t)["value"].([]any)); n != 1 {
			t.Fatalf("JobsCount defaults to 1, got %d jobs", n)
		}

		for _, c := range []struct {
			name      string
			startInfo map[string]any
			fields    []string
		}{
			{"a wrong type names the argument", map[string]any{"ReleaseKey": rel["Key"], "InputArguments": `{"x": "2", "y": 3}`}, []string{"x"}},
			{"missing and undeclared arguments", map[string]any{"ReleaseKey": rel["Key"], "InputArguments": `{"x": 2, "z": 1}`}, []string{"y", "z"}},
			{"arguments not in a string", map[string]any{"ReleaseKey": rel["Key"], "InputArguments": map[string]any{"x": 1}}, []string{"startInfo.InputArguments"}},
			{"arguments not JSON", map[string]any{"ReleaseKey": rel["Key"], "InputArguments": `{"x": 1`}, []string{"startInfo.InputArguments"}},
			{"arguments not an object", map[string]any{"ReleaseKey": rel["Key"], "InputArguments": `[1]`}, []string{"startInfo.InputArguments"}},
			{"JobsCount out of range", map[string]any{"ReleaseKey": rel["Key"], "JobsCount": 101}, []string{"startInfo.JobsCount"}},
			{"no release", map[string]any{"JobsCount": 0}, []string{"startInfo.ReleaseKey", "startInfo.JobsCount"}},
			{"unknown release", map[string]any{"ReleaseKey": "00000000-0000-0000-0000-000000000000"}, []string{"startInfo.ReleaseKey"}},
			{"unknown field", map[string]any{"ReleaseKey": rel["Key"], "Colour": "red"}, []string{"startInfo.Colour"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := m.do("POST", "Jobs/UiPath.Server.Configuration.OData.StartJobs", map[string]any{"startInfo": c.startInfo})
				wantFields(t, wantProblem(t, r, http.StatusBadRequest), c.fields...)
			})
		}
		wantFields(t, wantProblem(t, m.do("POST", "Jobs/UiPath.Server.Configuration.OData.StartJobs", map[string]any{}), http.StatusBadRequest), "startInfo")
		if n := m.get("Jobs", "$count", "true", "$top", "0").json(t)["@odata.count"]; n != 3.0 {
			t.Fatalf("refused StartJobs created jobs: %v jobs in all, want 3", n)
		}
		// Jobs is still read-only.
		res := m.do("DELETE", "Jobs(1)", nil)
		wantProblem(t, res, http.StatusMethodNotAllowed)
		if res.Header.Get("Allow") != "GET" {
			t.Fatalf("Allow = %q", res.Header.Get("Allow"))
		}
	})
}

// storeArgs returns the serve flags of a store kind and, for Redis kinds, a client of it.
func storeArgs(t *testing.T, st storeKind) ([]string, redis.UniversalClient) {
	args := st.args(t)
	var client redis.UniversalClient
	switch {
	case len(args) == 2 && args[0] == "--redis":
		opt, err := redis.ParseURL(args[1])
		if err != nil {
			t.Fatal(err)
		}
		client = redis.NewClient(opt)
	case len(args) == 2 && args[0] == "--redis-cluster":
		client = redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(args[1], ",")})
	}
	if client != nil {
		t.Cleanup(func() { client.Close() })
	}
	return args, client
}

func TestJobLogs_AreTheStoredLogAsText(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			args, client := storeArgs(t, st)
			// No robots here: the test is the robot, through the store's own API.
			s := startServer(t, append(args, "--robots", "0")...)
			m := newMgmt(t, s)
			started := m.do("POST", "Jobs/UiPath.Server.Configuration.OData.StartJobs",
				map[string]any{"startInfo": map[string]any{"ReleaseName": "FailingJob"}})
			wantStatus(t, started, http.StatusCreated)

			empty := m.do("GET", "Jobs(1)/Logs", nil)
			wantStatus(t, empty, http.StatusOK)
			if ct := empty.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || len(empty.Body) != 0 {
				t.Fatalf("log of a job that wrote none: %q %q", ct, empty.Body)
			}
			p := wantProblem(t, m.do("GET", "Jobs(99)/Logs", nil), http.StatusNotFound)
			wantDetail(t, p, "99")
			if client == nil {
				return // the embedded store lives in the server's memory: no robot but its own
			}
			store, err := redisstore.New(context.Background(), redisstore.Config{Client: client})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			job, err := store.Claim(context.Background(), "test-robot", jobs.RobotRef{ID: 9, Name: "test"}, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			const log = "step 1\nstep 2: ünïcode ok\n"
			if err := store.WriteLog(context.Background(), job.Key, "test-robot", log); err != nil {
				t.Fatal(err)
			}
			got := m.do("GET", "Jobs(1)/Logs", nil)
			wantStatus(t, got, http.StatusOK)
			if string(got.Body) != log {
				t.Fatalf("log = %q, want %q", got.Body, log)
			}
			if _, err := store.Finish(context.Background(), job.Key, "test-robot", jobs.Result{State: jobs.Faulted, Info: "done", Log: log + "end\n"}); err != nil {
				t.Fatal(err)
			}
			if got := m.do("GET", "Jobs(1)/Logs", nil); string(got.Body) != log+"end\n" {
				t.Fatalf("final log = %q", got.Body)
			}
		})
	}
}

func TestSettings_PutMakesCapabilityURLsAndPatchChangesOneField(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		m := newMgmt(t, s)
		def := m.get("Settings")
		wantStatus(t, def, http.StatusOK)
		if e := def.json(t); e["RequireAuthOnRedirects"] != true || e["RedirectStatus"] != 303.0 || e["Source"] != "Default" ||
			!strings.HasSuffix(e["@odata.context"].(string), "/odata/$metadata#Settings") {
			t.Fatalf("default settings = %s", def.Body)
		}
		before := do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 1, "y": 1})
		wantStatus(t, before, http.StatusAccepted)
		if strings.Contains(before.Header.Get("Location"), "cap=") {
			t.Fatalf("a capability before the settings allow it: %s", before.Header.Get("Location"))
		}

		put := m.do("PUT", "Settings", map[string]any{"RequireAuthOnRedirects": false, "RedirectStatus": 302})
		wantStatus(t, put, http.StatusOK)
		if e := put.json(t); e["RequireAuthOnRedirects"] != false || e["RedirectStatus"] != 302.0 || e["Source"] != "Api" {
			t.Fatalf("after PUT: %s", put.Body)
		}
		inv := do(t, noFollow, "POST", s.tenantURL("/t/add"), token(t), map[string]any{"x": 2, "y": 3})
		wantStatus(t, inv, http.StatusAccepted)
		loc := inv.Header.Get("Location")
		if !strings.Contains(loc, "?cap=") {
			t.Fatalf("Location after RequireAuthOnRedirects=false has no capability: %s", loc)
		}
		waitJobState(t, s, 2, "Successful")
		st := do(t, noFollow, "GET", loc, "", nil) // no Authorization: the capability is enough
		wantStatus(t, st, http.StatusFound)        // RedirectStatus 302
		out := do(t, noFollow, "GET", st.Header.Get("Location"), "", nil)
		wantStatus(t, out, http.StatusOK)
		if out.json(t)["sum"] != 5.0 {
			t.Fatalf("output = %s", out.Body)
		}

		// PATCH changes one field, keeping the other; PUT's absent fields take defaults.
		patch := m.do("PATCH", "Settings", map[string]any{"RedirectStatus": 303})
		if e := patch.json(t); e["RequireAuthOnRedirects"] != false || e["RedirectStatus"] != 303.0 {
			t.Fatalf("after PATCH: %s", patch.Body)
		}
		if e := m.do("PUT", "Settings", map[string]any{"RedirectStatus": 302}).json(t); e["RequireAuthOnRedirects"] != true {
			t.Fatalf("PUT without RequireAuthOnRedirects kept %v, want the default true", e["RequireAuthOnRedirects"])
		}
		p := wantProblem(t, m.do("PUT", "Settings", map[string]any{"RedirectStatus": 301, "requireAuth": false, "RequireAuthOnRedirects": "no"}), http.StatusBadRequest)
		wantFields(t, p, "RedirectStatus", "requireAuth", "RequireAuthOnRedirects")
		if e := m.get("Settings", "$select", "RedirectStatus").json(t); len(e) != 2 || e["RedirectStatus"] != 302.0 {
			t.Fatalf("Settings?$select = %v", e)
		}
	})
}

// TestManagement_SharedRedisServesEveryServer: what one server creates, another server on
// the same Redis (or Cluster) serves at once; settings within the 1s cache.
func TestManagement_SharedRedisServesEveryServer(t *testing.T) {
	for _, st := range stores[1:] {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			args, _ := storeArgs(t, st)
			a, b := startServer(t, args...), startServer(t, args...)
			ma, mb := newMgmt(t, a), newMgmt(t, b)
			rel := ma.create("Releases", addRelease("Adder"))
			tr := ma.create("ApiTriggers", map[string]any{"Slug": "shared", "ReleaseName": "Adder", "Arguments": map[string]any{"y": 10}})

			out := invokeLongPolling(t, b, "shared", map[string]any{"x": 5})
			wantStatus(t, out, http.StatusOK)
			if out.json(t)["sum"] != 15.0 {
				t.Fatalf("server b ran %s", out.Body)
			}
			if got := fmt.Sprint(values(t, mb.get("Releases", "$filter", "Source eq 'Api'"), "Name")); got != "[Adder]" {
				t.Fatalf("server b lists %s", got)
			}
			wantProblem(t, mb.do("POST", "Releases", addRelease("adder")), http.StatusConflict)

			// A change on b is seen on a.
			wantStatus(t, mb.do("PATCH", "ApiTriggers("+id(tr)+")", map[string]any{"Enabled": false}), http.StatusOK)
			wantProblem(t, invokeLongPolling(t, a, "shared", map[string]any{"x": 5}), http.StatusConflict)
			wantStatus(t, mb.do("DELETE", "ApiTriggers("+id(tr)+")", nil), http.StatusNoContent)
			wantStatus(t, ma.do("DELETE", "Releases("+id(rel)+")", nil), http.StatusNoContent)

			// StartJobs of an API-made release on a runs on whichever robot claims it.
			cmdless := ma.create("Releases", map[string]any{"Name": "Napper", "Builtin": "Sleep"})
			started := mb.do("POST", "Jobs/UiPath.Server.Configuration.OData.StartJobs", map[string]any{"startInfo": map[string]any{
				"ReleaseKey": cmdless["Key"], "InputArguments": `{"seconds": 0.1}`}})
			wantStatus(t, started, http.StatusCreated)
			jobID := int(started.json(t)["value"].([]any)[0].(map[string]any)["Id"].(float64))
			waitJobState(t, a, jobID, "Successful")

			// Settings put on a reach b within the cache time.
			wantStatus(t, ma.do("PUT", "Settings", map[string]any{"RequireAuthOnRedirects": false}), http.StatusOK)
			deadline := time.Now().Add(5 * time.Second)
			for {
				inv := do(t, noFollow, "POST", b.tenantURL("/t/add"), token(t), map[string]any{"x": 1, "y": 1})
				wantStatus(t, inv, http.StatusAccepted)
				if strings.Contains(inv.Header.Get("Location"), "?cap=") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("server b still answers without a capability 5s after the PUT on a")
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// TestReleases_CommandReleaseMadeThroughTheAPIRuns: argv, Env, WorkingDir, Timeout and the
// declared arguments of an API-made release reach the command executor; the job's log is
// its output.
func TestReleases_CommandReleaseMadeThroughTheAPIRuns(t *testing.T) {
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start()
		m := newMgmt(t, s)
		dir := t.TempDir() // the working directory: entered by the job's uid, kept visible under its private /tmp
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		script := `echo "hello $GREETING in $(pwd)"; echo "{\"input\": $(cat)}" > "$JOBGATE_OUTPUT"`
		m.create("Releases", map[string]any{
			"Name": "Greeter", "Command": []string{"sh", "-c", script}, "Env": map[string]string{"GREETING": "world"},
			"WorkingDir": dir, "Timeout": "30s",
			"Arguments": map[string]any{"n": map[string]any{"Type": "integer", "Default": 3}},
		})
		m.create("ApiTriggers", map[string]any{"Slug": "greet", "ReleaseName": "Greeter", "CallMode": "LongPolling"})

		out := invokeLongPolling(t, s, "greet", map[string]any{})
		wantStatus(t, out, http.StatusOK)
		if in, _ := out.json(t)["input"].(map[string]any); in["n"] != 3.0 {
			t.Fatalf("output = %s, want the input arguments with the declared default n=3", out.Body)
		}
		log := m.do("GET", "Jobs(1)/Logs", nil)
		wantStatus(t, log, http.StatusOK)
		if !strings.Contains(string(log.Body), "hello world in "+dir) {
			t.Fatalf("log = %q, want the command's output with its Env and WorkingDir", log.Body)
		}

		// The release's Timeout ends a command that runs too long.
		m.create("Releases", map[string]any{"Name": "Slowpoke", "Command": []string{"sleep", "30"}, "Timeout": "1s"})
		started := m.do("POST", "Jobs/UiPath.Server.Configuration.OData.StartJobs",
			map[string]any{"startInfo": map[string]any{"ReleaseName": "Slowpoke"}})
		wantStatus(t, started, http.StatusCreated)
		waitJobState(t, s, 2, "Faulted")
	})
}
