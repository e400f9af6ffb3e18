// Package triggertest is the conformance suite every trigger.Definitions store must pass.
package triggertest

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/trigger"
)

// Factory returns a new, empty store isolated from every other store it returned.
type Factory func(t *testing.T) trigger.Definitions

// Run runs the whole conformance suite against stores from newStore.
func Run(t *testing.T, newStore Factory) {
	tests := map[string]func(t *testing.T, d trigger.Definitions){
		"ReleaseIdsIncreaseAboveMinID":                   testReleaseIDs,
		"ReleaseKeepsEveryFieldExactly":                  testReleaseRoundTrip,
		"ReleaseNamesAreUniqueCaseInsensitively":         testReleaseNamesUnique,
		"ReplaceReleaseRenamesAndFreesTheOldName":        testReplaceRelease,
		"UsedReleaseCannotBeRenamedOrDeleted":            testUsedRelease,
		"DeleteReleaseFreesItsName":                      testDeleteRelease,
		"TriggerSlugsAreUniqueCaseInsensitively":         testTriggerSlugsUnique,
		"TriggerBySlugReturnsItsStoredRelease":           testTriggerBySlug,
		"TriggerOfAStoredReleaseNeedsIt":                 testTriggerNeedsRelease,
		"ReplaceTriggerChangesSlugAndRelease":            testReplaceTrigger,
		"DeleteTriggerFreesItsSlugAndItsRelease":         testDeleteTrigger,
		"MissingResourcesAreNotFound":                    testNotFound,
		"SettingsAreAbsentUntilPut":                      testSettings,
		"TenantsAreIsolated":                             testTenants,
		"ConcurrentCreatesOfOneNameLetExactlyOneSucceed": testConcurrentCreates,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newStore(t))
		})
	}
}

var (
	ctx    = context.Background()
	tenant = jobs.Tenant{Org: "acme", Tenant: "prod"}
	other  = jobs.Tenant{Org: "acme", Tenant: "test"}
)

// release returns a builtin release named name.
func release(name string) jobs.Process {
	return jobs.Process{Key: "key-" + name, Name: name, ProcessKey: name, Builtin: "Args_AddNumbers",
		Arguments: map[string]jobs.Argument{"x": {Type: jobs.TypeNumber, Required: true}}, Source: jobs.SourceAPI}
}

// triggerFor returns an enabled POST trigger slug of release.
func triggerFor(slug, release string) trigger.Trigger {
	return trigger.Trigger{Key: "key-" + slug, Slug: slug, ReleaseName: release, Method: "POST",
		CallMode: jobs.AsyncRequestReply, Enabled: true, Arguments: map[string]any{}, Source: jobs.SourceAPI}
}

func mustCreateRelease(t *testing.T, d trigger.Definitions, tn jobs.Tenant, p jobs.Process, minID int64) jobs.Process {
	t.Helper()
	got, err := d.CreateRelease(ctx, tn, p, minID)
	if err != nil {
		t.Fatalf("CreateRelease(%q): %v", p.Name, err)
	}
	return got
}

func mustCreateTrigger(t *testing.T, d trigger.Definitions, tn jobs.Tenant, tr trigger.Trigger, stored bool) trigger.Trigger {
	t.Helper()
	got, err := d.CreateTrigger(ctx, tn, tr, stored, 0)
	if err != nil {
		t.Fatalf("CreateTrigger(%q): %v", tr.Slug, err)
	}
	return got
}

// wantCode fails unless err carries code and, when given, its message contains each of parts.
func wantCode(t *testing.T, what string, err error, code string, parts ...string) {
	t.Helper()
	if got := jobs.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v has code %q, want %q", what, err, got, code)
	}
	for _, p := range parts {
		if !strings.Contains(jobs.ErrorMessage(err), p) {
			t.Fatalf("%s: message %q lacks %q", what, jobs.ErrorMessage(err), p)
		}
	}
}

func testReleaseIDs(t *testing.T, d trigger.Definitions) {
	a := mustCreateRelease(t, d, tenant, release("A"), 4)
	b := mustCreateRelease(t, d, tenant, release("B"), 0)
	c := mustCreateRelease(t, d, tenant, release("C"), 10)
	if a.ID != 5 || b.ID != 6 || c.ID != 11 {
		t.Fatalf("ids = %d, %d, %d; want 5 (above minID 4), 6, 11 (above minID 10)", a.ID, b.ID, c.ID)
	}
	tr := mustCreateTrigger(t, d, tenant, triggerFor("a", "A"), true)
	if tr.ID != 1 {
		t.Fatalf("first trigger id = %d, want 1: triggers count apart from releases", tr.ID)
	}
	list, err := d.ListReleases(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ID != 5 || list[1].ID != 6 || list[2].ID != 11 {
		t.Fatalf("ListReleases = %+v, want ids 5, 6, 11 in order", list)
	}
}

func testReleaseRoundTrip(t *testing.T, d trigger.Definitions) {
	p := jobs.Process{
		Key: "k1", Name: "Report", ProcessKey: "ReportKey", Description: "monthly report",
		Command: []string{"./report.sh", "--fast"}, Env: map[string]string{"REGION": "eu"},
		WorkingDir: "/srv/reports", Timeout: 10 * time.Minute,
		Arguments: map[string]jobs.Argument{
			"name":  {Type: jobs.TypeString, Required: true},
			"limit": {Type: jobs.TypeInteger, Default: json.Number("9007199254740993")},
		},
		Source: jobs.SourceAPI,
	}
	created := mustCreateRelease(t, d, tenant, p, 0)
	p.ID = created.ID
	if !reflect.DeepEqual(created, p) {
		t.Fatalf("CreateRelease returned %+v, want %+v", created, p)
	}
	for _, get := range []func() (jobs.Process, error){
		func() (jobs.Process, error) { return d.ReleaseByID(ctx, tenant, p.ID) },
		func() (jobs.Process, error) { return d.ReleaseByName(ctx, tenant, "rEPORT") },
		func() (jobs.Process, error) {
			list, err := d.ListReleases(ctx, tenant)
			if err != nil || len(list) != 1 {
				t.Fatalf("ListReleases = %v, %v", list, err)
			}
			return list[0], nil
		},
	} {
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("read back %+v, want %+v (numbers exact, every field kept)", got, p)
		}
	}
}

func testReleaseNamesUnique(t *testing.T, d trigger.Definitions) {
	mustCreateRelease(t, d, tenant, release("Report"), 0)
	_, err := d.CreateRelease(ctx, tenant, release("REPORT"), 0)
	wantCode(t, "same name in other case", err, jobs.ECONFLICT, "REPORT")
	mustCreateRelease(t, d, tenant, release("Report2"), 0)
}

func testReplaceRelease(t *testing.T, d trigger.Definitions) {
	a := mustCreateRelease(t, d, tenant, release("A"), 0)
	mustCreateRelease(t, d, tenant, release("B"), 0)

	taken := a
	taken.Name = "b"
	_, err := d.ReplaceRelease(ctx, tenant, taken)
	wantCode(t, "rename onto another release", err, jobs.ECONFLICT)

	renamed := a
	renamed.Name, renamed.Description = "A2", "renamed"
	got, err := d.ReplaceRelease(ctx, tenant, renamed)
	if err != nil || got.Name != "A2" || got.ID != a.ID {
		t.Fatalf("ReplaceRelease = %+v, %v", got, err)
	}
	if _, err := d.ReleaseByName(ctx, tenant, "A"); jobs.ErrorCode(err) != jobs.ENOTFOUND {
		t.Fatalf("old name still found: %v", err)
	}
	if p, err := d.ReleaseByName(ctx, tenant, "a2"); err != nil || p.Description != "renamed" {
		t.Fatalf("ReleaseByName(a2) = %+v, %v", p, err)
	}
	mustCreateRelease(t, d, tenant, release("A"), 0) // the old name is free again

	same := renamed
	same.Name = "a2" // a change of case only is no rename
	if _, err := d.ReplaceRelease(ctx, tenant, same); err != nil {
		t.Fatalf("changing the case of a name: %v", err)
	}
}

func testUsedRelease(t *testing.T, d trigger.Definitions) {
	r := mustCreateRelease(t, d, tenant, release("Adder"), 0)
	mustCreateTrigger(t, d, tenant, triggerFor("add", "adder"), true)
	mustCreateTrigger(t, d, tenant, triggerFor("plus", "ADDER"), true)

	wantCode(t, "delete a used release", d.DeleteRelease(ctx, tenant, r.ID), jobs.ECONFLICT, `"add"`, `"plus"`, "Adder")
	renamed := r
	renamed.Name = "Summer"
	_, err := d.ReplaceRelease(ctx, tenant, renamed)
	wantCode(t, "rename a used release", err, jobs.ECONFLICT, `"add"`, `"plus"`)

	// Changing anything but the name is fine.
	changed := r
	changed.Description = "still used"
	if _, err := d.ReplaceRelease(ctx, tenant, changed); err != nil {
		t.Fatalf("replace a used release keeping its name: %v", err)
	}
	if _, err := d.ReleaseByID(ctx, tenant, r.ID); err != nil {
		t.Fatalf("refused delete removed the release: %v", err)
	}
}

func testDeleteRelease(t *testing.T, d trigger.Definitions) {
	r := mustCreateRelease(t, d, tenant, release("Gone"), 0)
	if err := d.DeleteRelease(ctx, tenant, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReleaseByID(ctx, tenant, r.ID); jobs.ErrorCode(err) != jobs.ENOTFOUND {
		t.Fatalf("deleted release: %v", err)
	}
	wantCode(t, "delete twice", d.DeleteRelease(ctx, tenant, r.ID), jobs.ENOTFOUND)
	again := mustCreateRelease(t, d, tenant, release("gone"), 0)
	if again.ID == r.ID {
		t.Fatalf("a new release reused the deleted id %d", r.ID)
	}
}

func testTriggerSlugsUnique(t *testing.T, d trigger.Definitions) {
	mustCreateRelease(t, d, tenant, release("A"), 0)
	mustCreateTrigger(t, d, tenant, triggerFor("Run-It", "A"), true)
	_, err := d.CreateTrigger(ctx, tenant, triggerFor("run-it", "A"), true, 0)
	wantCode(t, "same slug in other case", err, jobs.ECONFLICT, "run-it")
}

func testTriggerBySlug(t *testing.T, d trigger.Definitions) {
	r := mustCreateRelease(t, d, tenant, release("Adder"), 0)
	tr := triggerFor("add", "Adder")
	tr.Method, tr.CallMode, tr.Enabled = "GET", jobs.LongPolling, false
	tr.Arguments = map[string]any{"y": json.Number("1.5")}
	created := mustCreateTrigger(t, d, tenant, tr, true)
	tr.ID = created.ID
	if !reflect.DeepEqual(created, tr) {
		t.Fatalf("CreateTrigger returned %+v, want %+v", created, tr)
	}
	got, rel, err := d.TriggerBySlug(ctx, tenant, "ADD")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tr) {
		t.Fatalf("TriggerBySlug = %+v, want %+v", got, tr)
	}
	if rel == nil || !reflect.DeepEqual(*rel, r) {
		t.Fatalf("TriggerBySlug's release = %+v, want %+v", rel, r)
	}
	if byID, err := d.TriggerByID(ctx, tenant, tr.ID); err != nil || !reflect.DeepEqual(byID, tr) {
		t.Fatalf("TriggerByID = %+v, %v", byID, err)
	}

	// A trigger of a release the store does not hold (one of the config file).
	mustCreateTrigger(t, d, tenant, triggerFor("file", "FromTheFile"), false)
	got, rel, err = d.TriggerBySlug(ctx, tenant, "file")
	if err != nil || got.ReleaseName != "FromTheFile" || rel != nil {
		t.Fatalf("TriggerBySlug(file) = %+v, %+v, %v; want no release", got, rel, err)
	}
	list, err := d.ListTriggers(ctx, tenant)
	if err != nil || len(list) != 2 || list[0].Slug != "add" || list[1].Slug != "file" {
		t.Fatalf("ListTriggers = %+v, %v", list, err)
	}
}

func testTriggerNeedsRelease(t *testing.T, d trigger.Definitions) {
	_, err := d.CreateTrigger(ctx, tenant, triggerFor("orphan", "Missing"), true, 0)
	wantCode(t, "trigger of a missing release", err, jobs.EINVALID, "Missing")
	if _, _, err := d.TriggerBySlug(ctx, tenant, "orphan"); jobs.ErrorCode(err) != jobs.ENOTFOUND {
		t.Fatalf("refused trigger was stored: %v", err)
	}
	mustCreateRelease(t, d, tenant, release("A"), 0)
	tr := mustCreateTrigger(t, d, tenant, triggerFor("ok", "A"), true)
	tr.ReleaseName = "Missing"
	_, err = d.ReplaceTrigger(ctx, tenant, tr, true)
	wantCode(t, "replace onto a missing release", err, jobs.EINVALID)
}

func testReplaceTrigger(t *testing.T, d trigger.Definitions) {
	a := mustCreateRelease(t, d, tenant, release("A"), 0)
	b := mustCreateRelease(t, d, tenant, release("B"), 0)
	one := mustCreateTrigger(t, d, tenant, triggerFor("one", "A"), true)
	mustCreateTrigger(t, d, tenant, triggerFor("two", "A"), true)

	clash := one
	clash.Slug = "TWO"
	_, err := d.ReplaceTrigger(ctx, tenant, clash, true)
	wantCode(t, "slug of another trigger", err, jobs.ECONFLICT)

	moved := one
	moved.Slug, moved.ReleaseName, moved.Enabled = "uno", "B", false
	got, err := d.ReplaceTrigger(ctx, tenant, moved, true)
	if err != nil || !reflect.DeepEqual(got, moved) {
		t.Fatalf("ReplaceTrigger = %+v, %v; want %+v", got, err, moved)
	}
	if _, _, err := d.TriggerBySlug(ctx, tenant, "one"); jobs.ErrorCode(err) != jobs.ENOTFOUND {
		t.Fatalf("old slug still found: %v", err)
	}
	_, rel, err := d.TriggerBySlug(ctx, tenant, "UNO")
	if err != nil || rel == nil || rel.ID != b.ID {
		t.Fatalf("TriggerBySlug(uno) release = %+v, %v; want B", rel, err)
	}
	// The trigger moved to B: B is now used, A only by "two".
	wantCode(t, "delete B", d.DeleteRelease(ctx, tenant, b.ID), jobs.ECONFLICT, `"uno"`)
	err = d.DeleteRelease(ctx, tenant, a.ID)
	wantCode(t, "delete A", err, jobs.ECONFLICT, `"two"`)
	if strings.Contains(jobs.ErrorMessage(err), "uno") {
		t.Fatalf("A's users still name the moved trigger: %v", err)
	}
}

func testDeleteTrigger(t *testing.T, d trigger.Definitions) {
	r := mustCreateRelease(t, d, tenant, release("A"), 0)
	tr := mustCreateTrigger(t, d, tenant, triggerFor("go", "A"), true)
	if err := d.DeleteTrigger(ctx, tenant, tr.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "delete twice", d.DeleteTrigger(ctx, tenant, tr.ID), jobs.ENOTFOUND)
	mustCreateTrigger(t, d, tenant, triggerFor("GO", "A"), true)
	list, _ := d.ListTriggers(ctx, tenant)
	for _, x := range list {
		if err := d.DeleteTrigger(ctx, tenant, x.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.DeleteRelease(ctx, tenant, r.ID); err != nil {
		t.Fatalf("release without triggers: %v", err)
	}
}

func testNotFound(t *testing.T, d trigger.Definitions) {
	_, err := d.ReleaseByID(ctx, tenant, 1)
	wantCode(t, "ReleaseByID", err, jobs.ENOTFOUND)
	_, err = d.ReleaseByName(ctx, tenant, "none")
	wantCode(t, "ReleaseByName", err, jobs.ENOTFOUND)
	_, err = d.ReplaceRelease(ctx, tenant, jobs.Process{ID: 7, Name: "x"})
	wantCode(t, "ReplaceRelease", err, jobs.ENOTFOUND)
	wantCode(t, "DeleteRelease", d.DeleteRelease(ctx, tenant, 7), jobs.ENOTFOUND)
	_, err = d.TriggerByID(ctx, tenant, 1)
	wantCode(t, "TriggerByID", err, jobs.ENOTFOUND)
	_, _, err = d.TriggerBySlug(ctx, tenant, "none")
	wantCode(t, "TriggerBySlug", err, jobs.ENOTFOUND)
	_, err = d.ReplaceTrigger(ctx, tenant, trigger.Trigger{ID: 7, Slug: "x", ReleaseName: "x"}, false)
	wantCode(t, "ReplaceTrigger", err, jobs.ENOTFOUND)
	wantCode(t, "DeleteTrigger", d.DeleteTrigger(ctx, tenant, 7), jobs.ENOTFOUND)
	for _, list := range []func() (int, error){
		func() (int, error) { l, err := d.ListReleases(ctx, tenant); return len(l), err },
		func() (int, error) { l, err := d.ListTriggers(ctx, tenant); return len(l), err },
	} {
		if n, err := list(); n != 0 || err != nil {
			t.Fatalf("empty store lists %d, %v", n, err)
		}
	}
}

func testSettings(t *testing.T, d trigger.Definitions) {
	if _, ok, err := d.Settings(ctx, tenant); ok || err != nil {
		t.Fatalf("settings before any put: ok=%v err=%v", ok, err)
	}
	want := callmode.Settings{RequireAuthOnRedirects: false, RedirectStatus: 302}
	if err := d.PutSettings(ctx, tenant, want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := d.Settings(ctx, tenant)
	if !ok || err != nil || got != want {
		t.Fatalf("Settings = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	if _, ok, _ := d.Settings(ctx, other); ok {
		t.Fatalf("another tenant has the settings")
	}
}

func testTenants(t *testing.T, d trigger.Definitions) {
	mine := mustCreateRelease(t, d, tenant, release("Same"), 0)
	theirs := mustCreateRelease(t, d, other, release("Same"), 0)
	if mine.ID != 1 || theirs.ID != 1 {
		t.Fatalf("ids = %d, %d; want 1 in each tenant", mine.ID, theirs.ID)
	}
	mustCreateTrigger(t, d, tenant, triggerFor("same", "Same"), true)
	mustCreateTrigger(t, d, other, triggerFor("same", "Same"), true)
	if err := d.DeleteTrigger(ctx, other, 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.TriggerBySlug(ctx, tenant, "same"); err != nil {
		t.Fatalf("deleting another tenant's trigger deleted mine: %v", err)
	}
	if err := d.DeleteRelease(ctx, other, theirs.ID); err != nil {
		t.Fatalf("their release, no longer used there: %v", err)
	}
	if _, err := d.ReleaseByName(ctx, tenant, "same"); err != nil {
		t.Fatalf("mine: %v", err)
	}
}

func testConcurrentCreates(t *testing.T, d trigger.Definitions) {
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, conflicts := 0, 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := d.CreateRelease(ctx, tenant, release("Racy"), 0)
			mu.Lock()
			defer mu.Unlock()
			switch jobs.ErrorCode(err) {
			case "":
				created++
			case jobs.ECONFLICT:
				conflicts++
			default:
				t.Errorf("CreateRelease: %v", err)
			}
		}()
	}
	wg.Wait()
	if created != 1 || conflicts != n-1 {
		t.Fatalf("%d created, %d conflicts; want 1 and %d", created, conflicts, n-1)
	}
}
