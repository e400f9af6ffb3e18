package trigger_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/memstore"
	"github.com/jobgate/jobgate/trigger"
)

var acme = jobs.Tenant{Org: "acme", Tenant: "prod"}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// persisted returns a catalogue on a fresh memstore, with the Sleep builtin.
func persisted(t *testing.T, now func() time.Time) (*trigger.Catalog, *memstore.Store) {
	t.Helper()
	store := memstore.New(memstore.Config{})
	cat := trigger.NewCatalog()
	cat.Persist(trigger.StoreConfig{Definitions: store, Now: now, ConfigFile: "/etc/jobgate.yaml",
		Builtins: map[string]map[string]jobs.Argument{"Sleep": {"seconds": {Type: jobs.TypeNumber, Required: true}}}})
	return cat, store
}

func TestCatalog_StoredSettingsAreReadThroughACacheOfTTL(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cat, store := persisted(t, c.Now)
	if s := cat.Settings(acme); s != callmode.DefaultSettings() {
		t.Fatalf("settings before any PUT = %+v", s)
	}
	// Another server writes to the shared store: seen here once the cache entry is 1s old.
	want := callmode.Settings{RequireAuthOnRedirects: false, RedirectStatus: 302}
	if err := store.PutSettings(context.Background(), acme, want); err != nil {
		t.Fatal(err)
	}
	if s := cat.Settings(acme); s != callmode.DefaultSettings() {
		t.Fatalf("settings changed before the cache expired: %+v", s)
	}
	c.Advance(time.Second)
	if s := cat.Settings(acme); s != want {
		t.Fatalf("settings after the TTL = %+v, want %+v", s, want)
	}
	// A PUT through this catalogue is seen at once.
	again := callmode.Settings{RequireAuthOnRedirects: true, RedirectStatus: 302}
	info, err := cat.PutSettings(context.Background(), acme, again)
	if err != nil || info.Source != jobs.SourceAPI {
		t.Fatalf("PutSettings = %+v, %v", info, err)
	}
	if s := cat.Settings(acme); s != again {
		t.Fatalf("settings right after PutSettings = %+v", s)
	}
}

func TestCatalog_DeclaredSettingsAreOwnedByTheFile(t *testing.T) {
	cat, _ := persisted(t, nil)
	declared := callmode.Settings{RequireAuthOnRedirects: false, RedirectStatus: 303}
	if err := cat.SetSettings(acme, declared); err != nil {
		t.Fatal(err)
	}
	_, err := cat.PutSettings(context.Background(), acme, callmode.DefaultSettings())
	if jobs.ErrorCode(err) != jobs.ECONFLICT || !strings.Contains(jobs.ErrorMessage(err), "the config file jobgate.yaml,") || strings.Contains(jobs.ErrorMessage(err), "/etc/") {
		t.Fatalf("PutSettings over declared settings: %v", err)
	}
	info, err := cat.TenantSettings(context.Background(), acme)
	if err != nil || info.Source != jobs.SourceConfig || info.Settings != declared {
		t.Fatalf("TenantSettings = %+v, %v", info, err)
	}
}

func TestCatalog_StoredReleasesAndTriggersAreFoundByRobotsAndInvocations(t *testing.T) {
	cat, _ := persisted(t, nil)
	ctx := context.Background()
	if err := cat.AddProcess(acme, jobs.Process{Name: "Declared", Builtin: "Sleep", Source: jobs.SourceConfig, File: "/etc/jobgate.yaml",
		Arguments: map[string]jobs.Argument{"seconds": {Type: jobs.TypeNumber, Required: true}}}); err != nil {
		t.Fatal(err)
	}
	rel, err := cat.CreateRelease(ctx, acme, jobs.Process{Name: "Napper", Builtin: "Sleep"})
	if err != nil {
		t.Fatal(err)
	}
	if rel.ID != 2 || rel.Key == "" || rel.Source != jobs.SourceAPI || rel.Arguments["seconds"].Type != jobs.TypeNumber {
		t.Fatalf("created %+v", rel)
	}
	if p, ok := cat.Process(acme, "napper"); !ok || p.ID != rel.ID {
		t.Fatalf("Process(napper) = %+v, %v", p, ok)
	}
	for _, release := range []string{"Napper", "declared"} {
		tr, err := cat.CreateTrigger(ctx, acme, trigger.Trigger{Slug: "nap-" + release, ReleaseName: release, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		got, proc, err := cat.Trigger(ctx, acme, "NAP-"+release)
		if err != nil || got.ID != tr.ID || !strings.EqualFold(proc.Name, release) || got.Method != "POST" || got.CallMode != jobs.AsyncRequestReply {
			t.Fatalf("Trigger(nap-%s) = %+v, %+v, %v", release, got, proc, err)
		}
	}
	if _, _, err := cat.Trigger(ctx, acme, "none"); jobs.ErrorCode(err) != jobs.ENOTFOUND {
		t.Fatalf("unknown slug: %v", err)
	}
	// The declared release belongs to the file, named by its base name only (no server path).
	if err := cat.DeleteRelease(ctx, acme, 1); jobs.ErrorCode(err) != jobs.ECONFLICT ||
		!strings.Contains(jobs.ErrorMessage(err), "the config file jobgate.yaml,") || strings.Contains(jobs.ErrorMessage(err), "/etc/") {
		t.Fatalf("DeleteRelease(declared) = %v", err)
	}
}
