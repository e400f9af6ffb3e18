package auth

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Scopes a token may carry in its space-separated `scope` claim (docs/api.md §10).
const (
	ScopeJobs      = "OR.Jobs"      // invoke triggers, read and stop jobs
	ScopeJobsRead  = "OR.Jobs.Read" // read jobs, their status and output only
	ScopeExecution = "OR.Execution" // manage processes and triggers
	ScopeWebhooks  = "OR.Webhooks"  // manage webhooks
	ScopeRobots    = "OR.Robots"    // manage robots
	ScopeSettings  = "OR.Settings"  // manage tenant settings
)

// AllScopes returns every scope jobgate knows, in a fixed order. The slice is new on each
// call, so the caller may keep or change it.
func AllScopes() []string {
	return []string{ScopeJobs, ScopeJobsRead, ScopeExecution, ScopeWebhooks, ScopeRobots, ScopeSettings}
}

// Principal is who a verified token speaks for.
type Principal struct {
	Subject   string    // the `sub` claim; may be empty
	Org       string    // the `org` claim; never empty
	Tenant    string    // the `tenant` claim; never empty
	Scopes    []string  // the `scope` claim split on spaces; may be empty
	TokenID   string    // the `jti` claim; may be empty
	ExpiresAt time.Time // the `exp` claim; always set
}

// Has reports whether p carries scope exactly (case-sensitive). Scopes do not imply each
// other: a route that OR.Jobs.Read may read lists both OR.Jobs and OR.Jobs.Read.
func (p Principal) Has(scope string) bool {
	return slices.Contains(p.Scopes, scope)
}

// Require returns nil when p has at least one of anyOf (or anyOf is empty), else a 403
// *Error with Code CodeInsufficientScope and Scope set to anyOf joined by spaces.
func (p Principal) Require(anyOf ...string) error {
	if len(anyOf) == 0 || slices.ContainsFunc(anyOf, p.Has) {
		return nil
	}
	want := strings.Join(anyOf, " ")
	desc := "token lacks scope " + want
	if len(anyOf) > 1 {
		desc = "token needs one of the scopes " + want
	}
	return &Error{Status: http.StatusForbidden, Code: CodeInsufficientScope, Description: desc, Scope: want}
}

// CheckTenant returns nil when p was issued for exactly org/tenant, else a 403 *Error with
// an empty Code (RFC 6750 has no error code for "valid token, wrong tenant", so the error
// has no challenge; the description says what went wrong).
func CheckTenant(p Principal, org, tenant string) error {
	if p.Org == org && p.Tenant == tenant {
		return nil
	}
	return &Error{
		Status:      http.StatusForbidden,
		Description: fmt.Sprintf("token is for tenant %s/%s, not %s/%s", p.Org, p.Tenant, org, tenant),
	}
}
