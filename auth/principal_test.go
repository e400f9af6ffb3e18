package auth

import (
	"slices"
	"testing"
)

func TestAllScopes(t *testing.T) {
	t.Parallel()
	want := []string{"OR.Jobs", "OR.Jobs.Read", "OR.Execution", "OR.Webhooks", "OR.Robots", "OR.Settings"}
	got := AllScopes()
	if !slices.Equal(got, want) {
		t.Fatalf("AllScopes() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if AllScopes()[0] != ScopeJobs {
		t.Fatal("changing the returned slice changed the next result")
	}
}

func TestPrincipal_Has(t *testing.T) {
	t.Parallel()
	p := Principal{Scopes: []string{ScopeJobsRead}}
	tests := []struct {
		whenScope string
		expect    bool
	}{
		{ScopeJobsRead, true},
		{ScopeJobs, false}, // a prefix is not the scope
		{"or.jobs.read", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := p.Has(tt.whenScope); got != tt.expect {
			t.Errorf("Has(%q) = %v, want %v", tt.whenScope, got, tt.expect)
		}
	}
}

func TestPrincipal_Require(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		givenScopes     []string
		whenAnyOf       []string
		expectOK        bool
		expectDesc      string
		expectScope     string
		expectChallenge string
	}{
		{name: "has the one scope", givenScopes: []string{ScopeJobs}, whenAnyOf: []string{ScopeJobs}, expectOK: true},
		{name: "has the second of two", givenScopes: []string{ScopeJobsRead}, whenAnyOf: []string{ScopeJobs, ScopeJobsRead}, expectOK: true},
		{name: "nothing required", givenScopes: nil, whenAnyOf: nil, expectOK: true},
		{
			name: "lacks the one scope", givenScopes: []string{ScopeJobsRead}, whenAnyOf: []string{ScopeJobs},
			expectDesc: "token lacks scope OR.Jobs", expectScope: "OR.Jobs",
			expectChallenge: `Bearer realm="jobgate", error="insufficient_scope", scope="OR.Jobs"`,
		},
		{
			name: "lacks both of two", givenScopes: []string{ScopeRobots}, whenAnyOf: []string{ScopeJobs, ScopeJobsRead},
			expectDesc: "token needs one of the scopes OR.Jobs OR.Jobs.Read", expectScope: "OR.Jobs OR.Jobs.Read",
			expectChallenge: `Bearer realm="jobgate", error="insufficient_scope", scope="OR.Jobs OR.Jobs.Read"`,
		},
		{
			name: "no scopes at all", givenScopes: nil, whenAnyOf: []string{ScopeSettings},
			expectDesc: "token lacks scope OR.Settings", expectScope: "OR.Settings",
			expectChallenge: `Bearer realm="jobgate", error="insufficient_scope", scope="OR.Settings"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Principal{Org: "acme", Tenant: "prod", Scopes: tt.givenScopes}.Require(tt.whenAnyOf...)
			if tt.expectOK {
				if err != nil {
					t.Fatalf("Require: %v", err)
				}
				return
			}
			e := asAuthError(t, err)
			if e.Status != 403 || e.Code != CodeInsufficientScope || e.Description != tt.expectDesc || e.Scope != tt.expectScope {
				t.Fatalf("got %+v", e)
			}
			if got := e.Challenge(); got != tt.expectChallenge {
				t.Fatalf("Challenge() = %s, want %s", got, tt.expectChallenge)
			}
		})
	}
}

func TestCheckTenant(t *testing.T) {
	t.Parallel()
	p := Principal{Org: "acme", Tenant: "prod"}
	tests := []struct {
		name                string
		whenOrg, whenTenant string
		expectDesc          string // "" = allowed
	}{
		{name: "same tenant", whenOrg: "acme", whenTenant: "prod"},
		{name: "other tenant", whenOrg: "acme", whenTenant: "dev", expectDesc: "token is for tenant acme/prod, not acme/dev"},
		{name: "other org", whenOrg: "evil", whenTenant: "prod", expectDesc: "token is for tenant acme/prod, not evil/prod"},
		{name: "case differs", whenOrg: "ACME", whenTenant: "prod", expectDesc: "token is for tenant acme/prod, not ACME/prod"},
		{name: "empty path values", whenOrg: "", whenTenant: "", expectDesc: "token is for tenant acme/prod, not /"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckTenant(p, tt.whenOrg, tt.whenTenant)
			if tt.expectDesc == "" {
				if err != nil {
					t.Fatalf("CheckTenant: %v", err)
				}
				return
			}
			e := asAuthError(t, err)
			if e.Status != 403 || e.Code != "" || e.Description != tt.expectDesc {
				t.Fatalf("got %+v", e)
			}
			if e.Challenge() != "" {
				t.Fatalf("tenant mismatch has challenge %q, want none", e.Challenge())
			}
		})
	}
}
