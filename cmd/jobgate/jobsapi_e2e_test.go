package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// End-to-end tests of the Jobs API (docs/api.md §14; docs/api.md §19) and of the operational endpoints
// (§1: /healthz, /readyz, /metrics), over real HTTP against the real server.

const (
	stopJobAction  = "/UiPath.Server.Configuration.OData.StopJob"
	stopJobsAction = "/odata/Jobs/UiPath.Server.Configuration.OData.StopJobs"
)

// jobsGet lists jobs of default/default with the raw OData query (already escaped, or
// built with jobsQuery) and returns the answer.
func jobsGet(t *testing.T, s *testServer, query string) response {
	t.Helper()
	u := s.tenantURL("/odata/Jobs")
	if query != "" {
		u += "?" + query
	}
	return do(t, noFollow, "GET", u, token(t), nil)
}

// jobsQuery escapes OData query options given as name, value pairs.
func jobsQuery(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q.Encode()
}

// jobsValueIDs returns the Id of each job in a list answer, in order.
func jobsValueIDs(t *testing.T, r response) []int {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	body := r.json(t)
	value, ok := body["value"].([]any)
	if !ok {
		t.Fatalf("list has no value array: %s", r.Body)
	}
	ids := make([]int, 0, len(value))
	for _, v := range value {
		ids = append(ids, int(v.(map[string]any)["Id"].(float64)))
	}
	return ids
}

// wantIDs fails unless the list answer r holds exactly the jobs want, in that order.
func wantIDs(t *testing.T, what string, r response, want ...int) {
	t.Helper()
	if got := jobsValueIDs(t, r); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: Ids = %v, want %v", what, got, want)
	}
}

// jobsRunLongPolling invokes slug in LongPolling mode and waits for the answer, so the job
// is final when it returns (ids are then given out in call order).
func jobsRunLongPolling(t *testing.T, s *testServer, slug string, args map[string]any, wantStatusCode int) response {
	t.Helper()
	body := map[string]any{"$callMode": "LongPolling"}
	for k, v := range args {
		body[k] = v
	}
	r := do(t, follow, "POST", s.tenantURL("/t/"+slug), token(t), body)
	wantStatus(t, r, wantStatusCode)
	return r
}

// jobsStart invokes slug in AsyncRequestReply mode and returns the new job's Id.
func jobsStart(t *testing.T, s *testServer, slug string, args map[string]any) int {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	r := do(t, noFollow, "POST", s.tenantURL("/t/"+slug), token(t), args)
	wantStatus(t, r, http.StatusAccepted)
	return int(r.json(t)["Id"].(float64))
}

// jobsStop posts StopJob for job id with body and returns the answer.
func jobsStop(t *testing.T, s *testServer, id int, body any) response {
	t.Helper()
	return do(t, noFollow, "POST", s.tenantURL("/odata/Jobs("+itoa(id)+")"+stopJobAction), token(t), body)
}

// jobsState reads the State of job id.
func jobsState(t *testing.T, s *testServer, id int) string {
	t.Helper()
	r := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs("+itoa(id)+")"), token(t), nil)
	wantStatus(t, r, http.StatusOK)
	return r.json(t)["State"].(string)
}

// wantUTCTime fails unless v is an RFC 3339 time string in UTC with a Z.
func wantUTCTime(t *testing.T, field string, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	if !ok || !strings.HasSuffix(s, "Z") {
		t.Fatalf("%s = %#v, want an RFC 3339 UTC time ending in Z", field, v)
	}
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s = %q: %v", field, s, err)
	}
	return tm
}

func TestJobsList_HasODataShapeAndCountOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	// An empty tenant lists nothing, in the same shape.
	empty := jobsGet(t, s, "")
	wantStatus(t, empty, http.StatusOK)
	if v, ok := empty.json(t)["value"].([]any); !ok || len(v) != 0 {
		t.Fatalf("empty list = %s, want \"value\": []", empty.Body)
	}

	jobsRunLongPolling(t, s, "add", map[string]any{"x": 2, "y": 3}, http.StatusOK)
	jobsRunLongPolling(t, s, "fail", nil, http.StatusInternalServerError)
	jobsRunLongPolling(t, s, "add", map[string]any{"x": 1, "y": 1}, http.StatusOK)

	r := jobsGet(t, s, "")
	wantStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	body := r.json(t)
	ctx, _ := body["@odata.context"].(string)
	if !strings.HasPrefix(ctx, s.URL+"/default/default/orchestrator_/odata/") || !strings.HasSuffix(ctx, "$metadata#Jobs") {
		t.Errorf("@odata.context = %q, want an absolute URL ending in $metadata#Jobs", ctx)
	}
	if _, ok := body["@odata.count"]; ok {
		t.Errorf("@odata.count given without $count=true: %s", r.Body)
	}
	wantIDs(t, "default order", r, 1, 2, 3)

	counted := jobsGet(t, s, "$count=true")
	if n := counted.json(t)["@odata.count"]; n != 3.0 {
		t.Errorf("$count=true: @odata.count = %v, want 3", n)
	}
	// The count is of every match, not of the page.
	page := jobsGet(t, s, "$count=true&$top=1")
	if n := page.json(t)["@odata.count"]; n != 3.0 {
		t.Errorf("$count=true&$top=1: @odata.count = %v, want 3", n)
	}
	wantIDs(t, "$top=1", page, 1)
	if _, ok := jobsGet(t, s, "$count=false").json(t)["@odata.count"]; ok {
		t.Errorf("$count=false still gives @odata.count")
	}
}

func TestJobsList_JobsHavePascalCaseFieldsOfContract(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	before := time.Now().UTC().Add(-time.Second)
	jobsRunLongPolling(t, s, "add", map[string]any{"x": 2, "y": 3}, http.StatusOK)
	jobsRunLongPolling(t, s, "fail", nil, http.StatusInternalServerError)

	value := jobsGet(t, s, "").json(t)["value"].([]any)
	if len(value) != 2 {
		t.Fatalf("listed %d jobs, want 2", len(value))
	}
	job := value[0].(map[string]any)
	for _, f := range []string{"Id", "Key", "State", "CreationTime", "StartTime", "EndTime", "Info",
		"InputArguments", "OutputArguments", "ReleaseName", "Release", "Robot", "Source", "SourceType",
		"CallMode", "TriggerSlug"} {
		if _, ok := job[f]; !ok {
			t.Errorf("job lacks %s: %v", f, job)
		}
	}
	for f := range job {
		if f == "" || f[0] < 'A' || f[0] > 'Z' {
			t.Errorf("job field %q is not PascalCase", f)
		}
	}
	if job["Id"] != 1.0 || job["State"] != "Successful" || job["SourceType"] != "ApiTrigger" ||
		job["CallMode"] != "LongPolling" || job["TriggerSlug"] != "add" || job["ReleaseName"] != "Args_AddNumbers" {
		t.Errorf("job 1 = %v", job)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(fmt.Sprint(job["Key"])) {
		t.Errorf("Key = %v, want a UUID", job["Key"])
	}
	created := wantUTCTime(t, "CreationTime", job["CreationTime"])
	started := wantUTCTime(t, "StartTime", job["StartTime"])
	ended := wantUTCTime(t, "EndTime", job["EndTime"])
	if created.Before(before) || started.Before(created) || ended.Before(started) || ended.After(time.Now().Add(time.Second)) {
		t.Errorf("times out of order: created %v, started %v, ended %v", created, started, ended)
	}
	if in := job["InputArguments"].(map[string]any); in["x"] != 2.0 || in["y"] != 3.0 || len(in) != 2 {
		t.Errorf("InputArguments = %v, want {x:2, y:3} (no $callMode)", in)
	}
	if out := job["OutputArguments"].(map[string]any); out["sum"] != 5.0 || out["diff"] != -1.0 || out["product"] != 6.0 {
		t.Errorf("OutputArguments = %v", out)
	}
	rel, ok := job["Release"].(map[string]any)
	if !ok {
		t.Fatalf("Release = %#v, want an object", job["Release"])
	}
	for _, f := range []string{"Id", "Key", "ProcessKey"} {
		if _, ok := rel[f]; !ok {
			t.Errorf("Release lacks %s: %v", f, rel)
		}
	}
	if rel["ProcessKey"] != "Args_AddNumbers" || rel["Key"] == "" {
		t.Errorf("Release = %v", rel)
	}
	rob, ok := job["Robot"].(map[string]any)
	if !ok {
		t.Fatalf("Robot of a finished job = %#v, want an object", job["Robot"])
	}
	for _, f := range []string{"Id", "Name", "MachineName"} {
		if _, ok := rob[f]; !ok {
			t.Errorf("Robot lacks %s: %v", f, rob)
		}
	}
	if rob["Name"] == "" || rob["MachineName"] == "" {
		t.Errorf("Robot = %v, want a name and a machine name", rob)
	}

	faulted := value[1].(map[string]any)
	if faulted["State"] != "Faulted" || faulted["Info"] != "This workflow always fails" || faulted["TriggerSlug"] != "fail" {
		t.Errorf("job 2 = %v", faulted)
	}
}

func TestJobsList_FilterTopSkipOrderBy(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	// Jobs 1..5: Successful, Faulted, Successful, Faulted, Successful; created in order.
	for i := 1; i <= 5; i++ {
		if i%2 == 1 {
			jobsRunLongPolling(t, s, "add", map[string]any{"x": i, "y": 1}, http.StatusOK)
		} else {
			jobsRunLongPolling(t, s, "fail", nil, http.StatusInternalServerError)
		}
	}
	key2 := jobsGet(t, s, jobsQuery("$filter", "Id eq 2")).json(t)["value"].([]any)[0].(map[string]any)["Key"].(string)

	cases := []struct {
		name  string
		query string
		want  []int
	}{
		{"State eq", jobsQuery("$filter", "State eq 'Successful'"), []int{1, 3, 5}},
		{"Key eq", jobsQuery("$filter", "Key eq '"+key2+"'"), []int{2}},
		{"Id eq", jobsQuery("$filter", "Id eq 2"), []int{2}},
		{"Id eq none", jobsQuery("$filter", "Id eq 42"), []int{}},
		{"and, gt", jobsQuery("$filter", "State eq 'Faulted' and Id gt 2"), []int{4}},
		{"or, parentheses, not", jobsQuery("$filter", "(Id eq 1 or Id eq 5) and not (State eq 'Faulted')"), []int{1, 5}},
		{"ne", jobsQuery("$filter", "State ne 'Successful'"), []int{2, 4}},
		{"contains", jobsQuery("$filter", "contains(Info, 'always')"), []int{2, 4}},
		{"startswith", jobsQuery("$filter", "startswith(TriggerSlug, 'ad')"), []int{1, 3, 5}},
		{"SourceType", jobsQuery("$filter", "SourceType eq 'ApiTrigger' and CallMode eq 'LongPolling'"), []int{1, 2, 3, 4, 5}},
		{"datetime literal", jobsQuery("$filter", "CreationTime gt 2000-01-01T00:00:00Z"), []int{1, 2, 3, 4, 5}},
		{"$top", jobsQuery("$top", "2"), []int{1, 2}},
		{"$skip", jobsQuery("$skip", "3"), []int{4, 5}},
		{"$skip past the end", jobsQuery("$skip", "10"), []int{}},
		{"$top and $skip", jobsQuery("$top", "2", "$skip", "1"), []int{2, 3}},
		{"$orderby Id desc", jobsQuery("$orderby", "Id desc"), []int{5, 4, 3, 2, 1}},
		{"$orderby CreationTime asc", jobsQuery("$orderby", "CreationTime asc"), []int{1, 2, 3, 4, 5}},
		{"$orderby CreationTime desc", jobsQuery("$orderby", "CreationTime desc"), []int{5, 4, 3, 2, 1}},
		{"$orderby two keys", jobsQuery("$orderby", "State asc, Id desc"), []int{4, 2, 5, 3, 1}},
		{"all together", jobsQuery("$filter", "State eq 'Successful'", "$orderby", "Id desc", "$top", "2", "$skip", "1"), []int{3, 1}},
	}
	for _, c := range cases {
		wantIDs(t, c.name+" ("+c.query+")", jobsGet(t, s, c.query), c.want...)
	}

	// $count counts the filtered set, before $top and $skip.
	r := jobsGet(t, s, jobsQuery("$filter", "State eq 'Successful'", "$top", "1", "$count", "true"))
	if n := r.json(t)["@odata.count"]; n != 3.0 {
		t.Errorf("filtered @odata.count = %v, want 3", n)
	}
	// $top=0 asks for the count alone.
	r = jobsGet(t, s, jobsQuery("$top", "0", "$count", "true"))
	wantIDs(t, "$top=0", r)
	if n := r.json(t)["@odata.count"]; n != 5.0 {
		t.Errorf("$top=0&$count=true: @odata.count = %v, want 5", n)
	}
	// $select keeps only the named fields.
	sel := jobsGet(t, s, jobsQuery("$select", "Id,State", "$top", "1")).json(t)["value"].([]any)[0].(map[string]any)
	if len(sel) != 2 || sel["Id"] != 1.0 || sel["State"] != "Successful" {
		t.Errorf("$select=Id,State gave %v", sel)
	}
}

func TestJobsList_BadQueryIs400SayingWhere(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	cases := []struct {
		name   string
		query  string
		option string
		want   []string // in the detail
	}{
		{"unknown field", jobsQuery("$filter", "Colour eq 'red'"), "$filter", []string{"$filter", "position 0", "Colour"}},
		{"unknown field later", jobsQuery("$filter", "Id eq 1 and Nope eq 2"), "$filter", []string{"$filter", "position 12", "Nope"}},
		{"syntax error", jobsQuery("$filter", "State eq"), "$filter", []string{"$filter", "position 8"}},
		{"unclosed parenthesis", jobsQuery("$filter", "(Id eq 1"), "$filter", []string{"$filter", "position"}},
		{"unclosed string", jobsQuery("$filter", "State eq 'Succ"), "$filter", []string{"$filter", "position"}},
		{"orderby unknown field", jobsQuery("$orderby", "Size desc"), "$orderby", []string{"$orderby", "Size"}},
		{"top too big", jobsQuery("$top", "5000"), "$top", []string{"$top", "1000"}},
		{"top negative", jobsQuery("$top", "-1"), "$top", []string{"$top"}},
		{"skip not a number", jobsQuery("$skip", "many"), "$skip", []string{"$skip", "many"}},
		{"count not a boolean", jobsQuery("$count", "yes"), "$count", []string{"$count"}},
	}
	for _, c := range cases {
		r := jobsGet(t, s, c.query)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s (%s): status %d, want 400: %s", c.name, c.query, r.Status, r.Body)
			continue
		}
		p := wantProblem(t, r, http.StatusBadRequest)
		detail, _ := p["detail"].(string)
		for _, w := range c.want {
			if !strings.Contains(detail, w) {
				t.Errorf("%s (%s): detail %q lacks %q", c.name, c.query, detail, w)
			}
		}
		if errs, ok := p["errors"].([]any); !ok || len(errs) != 1 || errs[0].(map[string]any)["name"] != c.option {
			t.Errorf("%s: errors = %v, want one naming %s", c.name, p["errors"], c.option)
		}
	}
}

func TestJobsGetByID_EntityWithContextOr404(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	jobsRunLongPolling(t, s, "add", map[string]any{"x": 2, "y": 3}, http.StatusOK)
	r := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs(1)"), token(t), nil)
	wantStatus(t, r, http.StatusOK)
	j := r.json(t)
	if ctx, _ := j["@odata.context"].(string); !strings.HasPrefix(ctx, s.URL+"/default/default/orchestrator_/odata/") || !strings.HasSuffix(ctx, "$metadata#Jobs/$entity") {
		t.Errorf("@odata.context = %q, want …/$metadata#Jobs/$entity", ctx)
	}
	if j["Id"] != 1.0 || j["State"] != "Successful" || j["OutputArguments"].(map[string]any)["sum"] != 5.0 {
		t.Errorf("Jobs(1) = %s", r.Body)
	}
	// The entity is the listed job plus its context.
	listed := jobsGet(t, s, "").json(t)["value"].([]any)[0].(map[string]any)
	delete(j, "@odata.context")
	if fmt.Sprint(listed) != fmt.Sprint(j) {
		t.Errorf("Jobs(1) = %v\nlisted as %v", j, listed)
	}
	// Read-only scope is enough to read.
	ro := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs(1)"), token(t, "OR.Jobs.Read"), nil)
	wantStatus(t, ro, http.StatusOK)

	missing := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs(99)"), token(t), nil)
	p := wantProblem(t, missing, http.StatusNotFound)
	if !strings.Contains(p["detail"].(string), "99") {
		t.Errorf("404 detail %q does not name the job", p["detail"])
	}
}

func TestJobs_TenantsSeeOnlyTheirOwnJobs(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	id := jobsStart(t, s, "forever", nil)
	waitJobState(t, s, id, "Running")

	other := tokenFor(t, "acme", "prod")
	otherURL := s.URL + "/acme/prod/orchestrator_"
	list := do(t, noFollow, "GET", otherURL+"/odata/Jobs?$count=true", other, nil)
	wantStatus(t, list, http.StatusOK)
	if b := list.json(t); b["@odata.count"] != 0.0 || len(b["value"].([]any)) != 0 {
		t.Errorf("tenant acme/prod lists %s", list.Body)
	}
	if ctx := list.json(t)["@odata.context"].(string); !strings.HasPrefix(ctx, otherURL+"/odata/") {
		t.Errorf("@odata.context %q is not under acme/prod", ctx)
	}
	wantProblem(t, do(t, noFollow, "GET", otherURL+"/odata/Jobs("+itoa(id)+")", other, nil), http.StatusNotFound)
	// Stopping another tenant's job by its id finds nothing and changes nothing.
	wantProblem(t, do(t, noFollow, "POST", otherURL+"/odata/Jobs("+itoa(id)+")"+stopJobAction, other, map[string]any{"strategy": "Kill"}), http.StatusNotFound)
	wantProblem(t, do(t, noFollow, "POST", otherURL+stopJobsAction, other, map[string]any{"jobIds": []int{id}, "strategy": "Kill"}), http.StatusNotFound)
	// A token of another tenant is refused on this tenant's routes.
	wantProblem(t, do(t, noFollow, "GET", s.tenantURL("/odata/Jobs"), other, nil), http.StatusForbidden)
	wantProblem(t, do(t, noFollow, "POST", s.tenantURL("/odata/Jobs("+itoa(id)+")"+stopJobAction), other, map[string]any{"strategy": "Kill"}), http.StatusForbidden)

	time.Sleep(100 * time.Millisecond)
	if st := jobsState(t, s, id); st != "Running" {
		t.Fatalf("job of default/default is %s after another tenant tried to stop it", st)
	}
	wantStatus(t, jobsStop(t, s, id, map[string]any{"strategy": "Kill"}), http.StatusOK)
	waitJobState(t, s, id, "Stopped")
}

func TestStopJob_SoftStopAndKillEndRunningJobsStopped(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, strategy := range []string{"SoftStop", "Kill", "kill"} {
		id := jobsStart(t, s, "forever", nil)
		waitJobState(t, s, id, "Running")
		r := jobsStop(t, s, id, map[string]any{"strategy": strategy})
		wantStatus(t, r, http.StatusOK)
		job := waitJobState(t, s, id, "Stopped")
		wantUTCTime(t, strategy+": EndTime", job["EndTime"])
		if job["OutputArguments"] != nil && len(job["OutputArguments"].(map[string]any)) != 0 {
			t.Errorf("%s: a stopped job has output %v", strategy, job["OutputArguments"])
		}
	}
	// A Sleep job stops promptly too, long before its time is up.
	id := jobsStart(t, s, "sleep", map[string]any{"seconds": 60})
	waitJobState(t, s, id, "Running")
	start := time.Now()
	wantStatus(t, jobsStop(t, s, id, map[string]any{"strategy": "SoftStop"}), http.StatusOK)
	waitJobState(t, s, id, "Stopped")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stopping a Sleep job took %v", took)
	}
}

func TestStopJob_RefusesFinishedJobsBadStrategiesAndUnknownIDs(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	jobsRunLongPolling(t, s, "add", map[string]any{"x": 2, "y": 3}, http.StatusOK)

	p := wantProblem(t, jobsStop(t, s, 1, map[string]any{"strategy": "SoftStop"}), http.StatusConflict)
	if !strings.Contains(p["detail"].(string), "Successful") {
		t.Errorf("409 detail %q does not say the job is already Successful", p["detail"])
	}
	if st := jobsState(t, s, 1); st != "Successful" {
		t.Errorf("a refused stop changed the job to %s", st)
	}

	id := jobsStart(t, s, "forever", nil)
	waitJobState(t, s, id, "Running")
	bad := wantProblem(t, jobsStop(t, s, id, map[string]any{"strategy": "Gently"}), http.StatusBadRequest)
	if !strings.Contains(bad["detail"].(string), "Gently") {
		t.Errorf("400 detail %q does not name the strategy", bad["detail"])
	}
	if errs, ok := bad["errors"].([]any); !ok || len(errs) != 1 || errs[0].(map[string]any)["name"] != "strategy" {
		t.Errorf("errors = %v, want one naming strategy", bad["errors"])
	}
	wantProblem(t, jobsStop(t, s, id, "not json"), http.StatusBadRequest)
	wantProblem(t, jobsStop(t, s, 99, map[string]any{"strategy": "Kill"}), http.StatusNotFound)
	// Reading is not stopping: OR.Jobs.Read may not stop.
	ro := do(t, noFollow, "POST", s.tenantURL("/odata/Jobs("+itoa(id)+")"+stopJobAction), token(t, "OR.Jobs.Read"), map[string]any{"strategy": "Kill"})
	wantProblem(t, ro, http.StatusForbidden)
	if st := jobsState(t, s, id); st != "Running" {
		t.Errorf("refused stops left the job %s, want Running", st)
	}
	wantStatus(t, jobsStop(t, s, id, map[string]any{"strategy": "Kill"}), http.StatusOK)
	waitJobState(t, s, id, "Stopped")
	wantProblem(t, jobsStop(t, s, id, map[string]any{"strategy": "Kill"}), http.StatusConflict)
}

func TestStopJobs_StopsEveryListedJob(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	a := jobsStart(t, s, "forever", nil)
	b := jobsStart(t, s, "forever", nil)
	c := jobsStart(t, s, "forever", nil)
	for _, id := range []int{a, b, c} {
		waitJobState(t, s, id, "Running")
	}
	r := do(t, noFollow, "POST", s.tenantURL(stopJobsAction), token(t), map[string]any{"jobIds": []int{a, b}, "strategy": "SoftStop"})
	wantStatus(t, r, http.StatusOK)
	waitJobState(t, s, a, "Stopped")
	waitJobState(t, s, b, "Stopped")
	if st := jobsState(t, s, c); st != "Running" {
		t.Errorf("unlisted job %d is %s, want Running", c, st)
	}
	// A job already final in the list does not spoil the rest.
	r = do(t, noFollow, "POST", s.tenantURL(stopJobsAction), token(t), map[string]any{"jobIds": []int{a, c}, "strategy": "Kill"})
	wantStatus(t, r, http.StatusOK)
	waitJobState(t, s, c, "Stopped")
}

func TestStopJobs_UnknownIDIs404AndStopsNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	a := jobsStart(t, s, "forever", nil)
	b := jobsStart(t, s, "forever", nil)
	waitJobState(t, s, a, "Running")
	waitJobState(t, s, b, "Running")
	r := do(t, noFollow, "POST", s.tenantURL(stopJobsAction), token(t), map[string]any{"jobIds": []int{a, 404, b}, "strategy": "Kill"})
	p := wantProblem(t, r, http.StatusNotFound)
	if !strings.Contains(p["detail"].(string), "404") {
		t.Errorf("404 detail %q does not name the unknown id", p["detail"])
	}
	empty := do(t, noFollow, "POST", s.tenantURL(stopJobsAction), token(t), map[string]any{"jobIds": []int{}, "strategy": "Kill"})
	wantProblem(t, empty, http.StatusBadRequest)
	time.Sleep(200 * time.Millisecond)
	for _, id := range []int{a, b} {
		if st := jobsState(t, s, id); st != "Running" {
			t.Errorf("job %d is %s after a refused StopJobs, want Running", id, st)
		}
	}
	// Without the unknown id, the same request stops both.
	r = do(t, noFollow, "POST", s.tenantURL(stopJobsAction), token(t), map[string]any{"jobIds": []int{a, b}, "strategy": "Kill"})
	wantStatus(t, r, http.StatusOK)
	waitJobState(t, s, a, "Stopped")
	waitJobState(t, s, b, "Stopped")
}

func TestStopJob_PendingJobIsStoppedAtOnce(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--robots", "0") // API only: jobs stay Pending
	a := jobsStart(t, s, "add", map[string]any{"x": 2, "y": 3})
	b := jobsStart(t, s, "add", map[string]any{"x": 2, "y": 3})
	c := jobsStart(t, s, "add", map[string]any{"x": 2, "y": 3})
	if st := jobsState(t, s, a); st != "Pending" {
		t.Fatalf("with --robots 0 the job is %s, want Pending", st)
	}
	wantIDs(t, "StartTime eq null", jobsGet(t, s, jobsQuery("$filter", "StartTime eq null and State eq 'Pending'")), a, b, c)
	wantStatus(t, jobsStop(t, s, a, map[string]any{"strategy": "SoftStop"}), http.StatusOK)
	// No robot is needed to stop a job that never started: it is Stopped as the answer comes.
	r := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs("+itoa(a)+")"), token(t), nil)
	j := r.json(t)
	if j["State"] != "Stopped" || j["StartTime"] != nil {
		t.Fatalf("stopped Pending job = %s, want State Stopped and no StartTime", r.Body)
	}
	wantUTCTime(t, "EndTime", j["EndTime"])

	wantStatus(t, do(t, noFollow, "POST", s.tenantURL(stopJobsAction), token(t), map[string]any{"jobIds": []int{b, c}, "strategy": "Kill"}), http.StatusOK)
	wantIDs(t, "Stopped jobs", jobsGet(t, s, jobsQuery("$filter", "State eq 'Stopped'")), a, b, c)
	// The status resource of a job stopped while Pending leads to its 500 output.
	out := do(t, follow, "GET", s.tenantURL("/jobs/"+j["Key"].(string)+"/status"), token(t), nil)
	if p := wantProblem(t, out, http.StatusInternalServerError); p["jobState"] != "Stopped" {
		t.Errorf("output of the stopped job = %s", out.Body)
	}
}

// metricValue returns the value of the sample named series (with its labels, as exposed) in
// Prometheus text, and whether it is there.
func metricValue(text, series string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		name, value, ok := strings.Cut(line, " ")
		if ok && name == series {
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// scrape reads /metrics.
func scrape(t *testing.T, s *testServer) string {
	t.Helper()
	r := do(t, noFollow, "GET", s.URL+"/metrics", "", nil)
	wantStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("/metrics Content-Type = %q, want Prometheus text", ct)
	}
	return string(r.Body)
}

func TestHealthAndReadiness_Answer200WithoutAToken(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		r := do(t, noFollow, "GET", s.URL+path, "", nil)
		wantStatus(t, r, http.StatusOK)
		if r.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s has no X-Request-Id", path)
		}
	}
}

func TestMetrics_CountInvocationsFinishedJobsHeldRequestsAndDurations(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	tok := token(t)
	text := scrape(t, s)
	if v, ok := metricValue(text, "jobgate_held_requests"); !ok || v != 0 {
		t.Errorf("jobgate_held_requests at start = %v (present %v), want 0", v, ok)
	}

	// A held LongPolling request shows in jobgate_held_requests while it is held.
	held := sendAsync(s.tenantURL("/t/sleep"), tok, map[string]any{"seconds": 1, "$callMode": "LongPolling"})
	waitHeld(t, s.URL, 1)
	if r := <-held; r.Err != nil || r.Status != http.StatusOK {
		t.Fatalf("held request answered %d %s (%v)", r.Status, r.Body, r.Err)
	}

	wantStatus(t, do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 2, "y": 3}), http.StatusAccepted)
	wantStatus(t, do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 2, "y": 3, "$callMode": "FireAndForget"}), http.StatusOK)
	wantStatus(t, do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": 2, "y": 3, "$callMode": "LongPolling"}), http.StatusOK)
	wantProblem(t, do(t, noFollow, "POST", s.tenantURL("/t/fail"), tok, map[string]any{"$callMode": "LongPolling"}), http.StatusInternalServerError)
	wantProblem(t, do(t, noFollow, "POST", s.tenantURL("/t/add"), tok, map[string]any{"x": "two", "y": 3, "$callMode": "LongPolling"}), http.StatusBadRequest)

	want := map[string]float64{
		`jobgate_invocations_total{mode="AsyncRequestReply",status="202"}`: 1,
		`jobgate_invocations_total{mode="FireAndForget",status="200"}`:     1,
		`jobgate_invocations_total{mode="LongPolling",status="200"}`:       2,
		`jobgate_invocations_total{mode="LongPolling",status="500"}`:       1,
		`jobgate_jobs_finished_total{state="Successful"}`:                  4,
		`jobgate_jobs_finished_total{state="Faulted"}`:                     1,
		`jobgate_job_duration_seconds_count`:                               5,
		`jobgate_held_requests`:                                            0,
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		text = scrape(t, s)
		var wrong []string
		for series, v := range want {
			if got, ok := metricValue(text, series); !ok || got != v {
				wrong = append(wrong, fmt.Sprintf("%s = %v (present %v), want %v", series, got, ok, v))
			}
		}
		if len(wrong) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics:\n  %s\n\n%s", strings.Join(wrong, "\n  "), text)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The refused invocation is counted with its status too, whatever mode it is filed under.
	if !regexp.MustCompile(`(?m)^jobgate_invocations_total\{mode="[A-Za-z]+",status="400"\} 1$`).MatchString(text) {
		t.Errorf("no jobgate_invocations_total sample with status 400:\n%s", text)
	}
	for _, family := range []string{"# TYPE jobgate_invocations_total counter", "# TYPE jobgate_jobs_finished_total counter",
		"# TYPE jobgate_held_requests gauge", "# TYPE jobgate_job_duration_seconds histogram", "jobgate_job_duration_seconds_bucket{le="} {
		if !strings.Contains(text, family) {
			t.Errorf("/metrics lacks %q", family)
		}
	}
	// The sleep job took about a second: the duration sum says so.
	if sum, _ := metricValue(text, "jobgate_job_duration_seconds_sum"); sum < 0.9 {
		t.Errorf("jobgate_job_duration_seconds_sum = %v, want at least the 1s sleep", sum)
	}
}

// UiPath's .NET and Java clients send the StopStrategy enum as a number: 1 = SoftStop, 2 = Kill.
func TestStopJob_AcceptsUiPathNumericStrategies(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for number, name := range map[int]string{1: "SoftStop", 2: "Kill"} {
		id := jobsStart(t, s, "forever", nil)
		waitJobState(t, s, id, "Running")
		wantStatus(t, jobsStop(t, s, id, map[string]any{"strategy": number}), http.StatusOK)
		if job := waitJobState(t, s, id, "Stopped"); job["Info"] != "Stopped on request ("+name+")" {
			t.Errorf("strategy %d: Info %q, want it stopped by %s", number, job["Info"], name)
		}
	}
	a := jobsStart(t, s, "forever", nil)
	b := jobsStart(t, s, "forever", nil)
	waitJobState(t, s, a, "Running")
	waitJobState(t, s, b, "Running")
	for _, bad := range []any{0, 3, 1.5, true, []int{2}} {
		p := wantProblem(t, jobsStop(t, s, a, map[string]any{"strategy": bad}), http.StatusBadRequest)
		if errs, ok := p["errors"].([]any); !ok || len(errs) != 1 || errs[0].(map[string]any)["name"] != "strategy" {
			t.Errorf("strategy %v: errors = %v, want one naming strategy", bad, p["errors"])
		}
	}
	r := do(t, noFollow, "POST", s.tenantURL(stopJobsAction), token(t), map[string]any{"jobIds": []int{a, b}, "strategy": 2})
	wantStatus(t, r, http.StatusOK)
	for _, id := range []int{a, b} {
		if job := waitJobState(t, s, id, "Stopped"); job["Info"] != "Stopped on request (Kill)" {
			t.Errorf("StopJobs strategy 2: job %d Info %q, want it killed", id, job["Info"])
		}
	}
}

// Seed 001's payloads show a final job's OutputArguments as {} rather than null; a job not
// final yet shows null.
func TestJobs_FaultedAndStoppedJobsShowEmptyOutputArguments(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, start func(args ...string) *testServer) {
		s := start("--robots", "1")
		jobsRunLongPolling(t, s, "fail", nil, http.StatusInternalServerError) // Id 1, Faulted
		running := jobsStart(t, s, "forever", nil)                            // Id 2, the only slot
		waitJobState(t, s, running, "Running")
		pending := jobsStart(t, s, "forever", nil) // Id 3, waits for the slot
		if st := jobsState(t, s, pending); st != "Pending" {
			t.Fatalf("second forever job is %s, want Pending behind the one slot", st)
		}
		wantOutput := func(what string, job map[string]any, want string) {
			t.Helper()
			b, _ := json.Marshal(job["OutputArguments"])
			if string(b) != want {
				t.Errorf("%s: OutputArguments %s, want %s", what, b, want)
			}
		}
		wantOutput("Pending job", do(t, noFollow, "GET", s.tenantURL("/odata/Jobs(3)"), token(t), nil).json(t), "null")
		wantStatus(t, jobsStop(t, s, pending, map[string]any{"strategy": "Kill"}), http.StatusOK)
		wantStatus(t, jobsStop(t, s, running, map[string]any{"strategy": "SoftStop"}), http.StatusOK)
		waitJobState(t, s, running, "Stopped")
		for id, state := range map[int]string{1: "Faulted", running: "Stopped", pending: "Stopped"} {
			r := do(t, noFollow, "GET", s.tenantURL("/odata/Jobs("+itoa(id)+")"), token(t), nil)
			wantStatus(t, r, http.StatusOK)
			job := r.json(t)
			if job["State"] != state {
				t.Fatalf("job %d is %v, want %s", id, job["State"], state)
			}
			wantOutput("Jobs("+itoa(id)+")", job, "{}")
		}
		list := jobsGet(t, s, jobsQuery("$select", "Id,OutputArguments"))
		wantStatus(t, list, http.StatusOK)
		for _, v := range list.json(t)["value"].([]any) {
			job := v.(map[string]any)
			wantOutput(fmt.Sprintf("list, job %v", job["Id"]), job, "{}")
		}
	})
}
